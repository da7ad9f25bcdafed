"""The application object: names, settings, the database, the main window, orderly shutdown."""

from __future__ import annotations

import logging
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from appupdater import __version__
from appupdater.errors import AppUpdaterError
from appupdater.store.db import close_database, data_dir, open_database
from appupdater.ui.icons import icon

log = logging.getLogger("appupdater.ui")

DESKTOP_ID = "io.github.appupdater.AppUpdater"
DEMO_DEVICES = 250


def configure_application(app: QApplication) -> None:
    """Names used by QSettings and the desktop; the window icon."""
    app.setOrganizationName("AppUpdater")
    app.setOrganizationDomain("appupdater.github.io")
    app.setApplicationName("App Updater")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(DESKTOP_ID)
    app.setWindowIcon(icon("appupdater"))


def demo_database() -> str:
    """A fresh demo database in the data directory, replaced at every `--demo` start."""
    path = data_dir() / "demo.sqlite3"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return str(path)


def run_gui(database: str | None, demo: bool = False) -> int:
    from appupdater.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    configure_application(app)
    try:
        if demo:
            from appupdater.core.demo import load_demo

            open_database(demo_database())
            load_demo(DEMO_DEVICES)
        else:
            open_database(database)
    except AppUpdaterError as exc:
        QMessageBox.critical(None, "App Updater", f"App Updater cannot start.\n\n{exc}")
        return 1
    window = MainWindow()
    window.show()
    code = app.exec()
    window.tasks.shutdown()
    close_database()
    return code
