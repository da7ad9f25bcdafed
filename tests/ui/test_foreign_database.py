"""The window refuses another program's SQLite file, as every verb does, and leaves it as it
was: no App Updater tables are added to it."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from appupdater.ui.app import _run_gui
from appupdater.ui.startup_window import ConnectingWindow


class OwnLoop:
    """The application as `_run_gui` uses it, with a loop of the test's own: quitting the real
    application's loop would leave Qt's later loops of this test process quitting too."""

    def __init__(self, qapp):
        self.qapp = qapp
        self.loop = QEventLoop()

    def exec(self):
        return self.loop.exec()

    def quit(self):
        self.loop.quit()

    def __getattr__(self, name):
        return getattr(self.qapp, name)


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
    assert _run_gui(OwnLoop(QApplication.instance()), str(path), demo=False, in_tray=False) == 1
    [(headline, text)] = seen
    assert headline == "App Updater cannot open the database"
    assert "not an App Updater database" in text and "invoices" in text
    assert path.read_bytes() == before
