"""The window refuses another program's SQLite file, as every verb does, and leaves it as it
was: no App Updater tables are added to it."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from PySide6.QtWidgets import QApplication

from appupdater.ui.app import _run_gui


def test_the_window_refuses_another_programs_database(qtbot, tmp_path, message_boxes):
    path = tmp_path / "invoices.sqlite3"
    with closing(sqlite3.connect(path)) as other:
        other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        other.commit()
    before = path.read_bytes()
    message_boxes.answer()
    assert _run_gui(QApplication.instance(), str(path), demo=False, in_tray=False) == 1
    [text] = message_boxes.seen
    assert "App Updater cannot start" in text and "not an App Updater database" in text
    assert "invoices" in text
    assert path.read_bytes() == before
