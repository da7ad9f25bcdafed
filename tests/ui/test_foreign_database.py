"""The window refuses another program's SQLite file, as every verb does, and leaves it as it
was: no App Updater tables are added to it."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from appupdater.ui.app import _run_gui
from appupdater.ui.startup_window import ConnectingWindow


def test_the_window_refuses_another_programs_database(qtbot, tmp_path):
    path = tmp_path / "invoices.sqlite3"
    with closing(sqlite3.connect(path)) as other:
        other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        other.commit()
    before = path.read_bytes()
    seen = []

    def read_and_quit():
        shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, ConnectingWindow)]
        if not shown or not shown[0].retry_button.isVisible():
            QTimer.singleShot(20, read_and_quit)
            return
        seen.append((shown[0].headline.text(), shown[0].detail.text()))
        qtbot.mouseClick(shown[0].quit_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, read_and_quit)
    assert _run_gui(QApplication.instance(), str(path), demo=False, in_tray=False) == 1
    [(headline, text)] = seen
    assert headline == "App Updater cannot open the database"
    assert "not an App Updater database" in text and "invoices" in text
    assert path.read_bytes() == before
