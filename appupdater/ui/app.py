"""The application: names and settings, the database, the engine, the main window, the tray,
one instance per user and database, and an orderly end."""

from __future__ import annotations

import logging
import os
import sys
import time

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

from appupdater import __version__, desktop
from appupdater.core.waiting import WaitingWork, waiting_work
from appupdater.core.words import plural
from appupdater.desktop import DESKTOP_ID
from appupdater.engine.engine import Engine
from appupdater.engine.signals import QuitSignals
from appupdater.errors import DesktopError
from appupdater.store.db import close_database, data_dir, default_location, describe
from appupdater.store.models import db
from appupdater.ui.bounded import within
from appupdater.ui.error_dialog import ErrorReporter
from appupdater.ui.heap_keeper import HeapKeeper
from appupdater.ui.icons import icon
from appupdater.ui.single_instance import InstanceServer, notify_running
from appupdater.ui.startup import Startup
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.timefmt import local_text
from appupdater.ui.tray import Tray

log = logging.getLogger("appupdater.ui")

DEMO_DEVICES = 250
TRAY_WAIT_S = 60.0
QUIT_WAIT_S = 3.0  # how long Quit waits for the database to say what still waits
STOP_WAIT_S = 10.0  # how long the engine may take to stop after the windows closed


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


class Application(QObject):
    """Owns the engine, the main window and the tray, and decides what closing means:
    with a tray the app keeps working there; without one, closing with deployments running
    asks whether to wait for them or to quit now (they resume at the next start)."""

    def __init__(self, qapp: QApplication, engine: Engine, *, tray: bool | None = None):
        from appupdater.ui.main_window import MainWindow

        super().__init__()
        self.qapp = qapp
        self.engine = engine
        self.tasks = BackgroundTasks(self)
        self.window = MainWindow(engine, self.tasks)
        self.window.close_guard = self._window_closing
        self.window.quit_action.triggered.disconnect()
        self.window.quit_action.triggered.connect(self.request_quit)
        self.heap = HeapKeeper(self)
        self.window.wizard_closed.connect(self.heap.soon)
        self.tray: Tray | None = None
        qapp.setQuitOnLastWindowClosed(True)
        qapp.setQuitLockEnabled(False)
        self._tray_allowed = tray is not False
        if QSystemTrayIcon.isSystemTrayAvailable() if tray is None else tray:
            self._attach_tray()
        self._tray_wait = QTimer(self)
        self._tray_wait.setObjectName("wait-for-tray")
        self._tray_wait.setInterval(500)
        self._tray_wait.timeout.connect(self._look_for_tray)
        self._tray_deadline = 0.0
        self.instance_server: InstanceServer | None = None
        self._told_about_tray = False
        self._drain_timer = QTimer(self)
        self._drain_timer.setObjectName("wait-for-deployments")
        self._drain_timer.setInterval(250)
        self._drain_timer.timeout.connect(self._check_drained)
        self.quitting = False
        self.no_answer = False  # the database did not answer at quit

    def _attach_tray(self) -> Tray:
        tray = self.tray = Tray(self.engine, self.tasks, self)
        tray.open_requested.connect(self.show_window)
        tray.overview_requested.connect(self.window.show_overview)
        tray.update_requested.connect(self._update_from_tray)
        tray.quit_requested.connect(self.request_quit)
        self.qapp.setQuitOnLastWindowClosed(False)
        return tray

    def start(self, database: str, *, in_tray: bool = False) -> None:
        """Start the engine and show the window, or with `in_tray` (at login) only the tray
        icon. A session's panel may come up after us: without a tray yet, wait for one for
        TRAY_WAIT_S before showing the window after all."""
        self.instance_server = InstanceServer(database, self)
        self.instance_server.show_requested.connect(self.show_window)
        self.engine.start()
        self.heap.start()
        if self.tray is not None:
            self.tray.show()
        if not in_tray or not self._tray_allowed:
            self.window.show()
        elif self.tray is None:
            self._tray_deadline = time.monotonic() + TRAY_WAIT_S
            self._tray_wait.start()

    def _look_for_tray(self) -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._tray_wait.stop()
            self._attach_tray().show()
        elif time.monotonic() > self._tray_deadline:
            self._tray_wait.stop()
            log.warning("no system tray appeared in %.0f s; showing the window", TRAY_WAIT_S)
            self.window.show()

    @Slot()
    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def _update_from_tray(self) -> None:
        self.show_window()
        self.window.update_applications()

    # -- closing and quitting ----------------------------------------------------------------

    def _window_closing(self, event: QCloseEvent) -> bool:
        """The main window asks whether it may close."""
        if self.quitting:
            return True
        if self.tray is not None:
            if not self._told_about_tray:
                self._told_about_tray = True
                self.tray.icon.showMessage(
                    "App Updater keeps running",
                    "Deployments continue in the background. Open App Updater or quit it "
                    "from this icon.",
                    QSystemTrayIcon.MessageIcon.Information,
                    5000,
                )
            return True
        return self._confirm_quit()

    @Slot()
    def request_quit(self) -> None:
        if self._confirm_quit():
            self.quit()

    def _confirm_quit(self) -> bool:
        """True to quit now; False to stay (cancelled, kept in the tray, or waiting for the
        running deployments)."""
        read = within(waiting_work, QUIT_WAIT_S, "waiting-at-quit")
        if read.timed_out:
            return self._say_no_answer()
        waiting = read.value or WaitingWork(0, 0, 0, None)
        if read.error is not None:  # a database that cannot be read keeps no one from quitting
            log.warning("cannot read the waiting deployments at quit: %s", read.error)
        if self.engine.running:
            return self._confirm_quit_running(self.engine.running, waiting)
        if waiting.total:
            return self._confirm_quit_waiting(waiting)
        return True

    def _say_no_answer(self) -> bool:
        """The database did not answer in time: quit anyway, after saying what follows."""
        self.no_answer = True
        self.window.close_wait_ms = 0  # its reads wait for the database too: not for them
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Quit App Updater",
            f"The database {describe(db.obj)} does not answer; App Updater quits without "
            "waiting for it.",
            parent=self.window,
        )
        box.setInformativeText(
            "Deployments it was running are taken over by the other engines on this database "
            "once its heartbeat is missed, or resume the next time App Updater starts. Nothing "
            "waiting is lost."
        )
        box.exec()
        return True

    def _confirm_quit_running(self, running: int, waiting: WaitingWork) -> bool:
        verb = "is" if running == 1 else "are"
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Quit App Updater",
            f"{plural(running, 'deployment')} {verb} running.",
            parent=self.window,
        )
        later = ""
        if waiting.total:
            later = f" {waiting.describe()}{_next_due(waiting)}."
        box.setInformativeText(
            "Wait until they finish, or quit now: deployments stopped now, and those queued or "
            "scheduled, resume the next time App Updater starts." + later
        )
        wait = box.addButton("&Wait for them", QMessageBox.ButtonRole.AcceptRole)
        now = box.addButton("&Quit now", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(wait)
        box.exec()
        clicked = box.clickedButton()
        if clicked is now:
            return True
        if clicked is wait:
            self._start_draining()
        return False

    def _confirm_quit_waiting(self, waiting: WaitingWork) -> bool:
        """Nothing runs, but deployments wait for their time or their next attempt: they run
        only while App Updater does. Say so, and offer what keeps them going."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Quit App Updater",
            f"{waiting.describe()}{_next_due(waiting)}.",
            parent=self.window,
        )
        starts_at_login = desktop.autostart_enabled()
        box.setInformativeText(
            "They run only while App Updater is running: after you quit, they wait until it "
            "starts again."
            + (" It starts at login, so they run after you next log in." if starts_at_login else "")
        )
        keep = None
        if self.tray is not None:
            keep = box.addButton("&Keep running in the tray", QMessageBox.ButtonRole.AcceptRole)
        login = None
        if not starts_at_login:
            login = box.addButton("&Start at login, then quit", QMessageBox.ButtonRole.YesRole)
        anyway = box.addButton("&Quit anyway", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep or login or anyway)
        box.exec()
        clicked = box.clickedButton()
        if clicked is keep:
            self.window.hide()
            if self.window.overview is not None:
                self.window.overview.hide()
            return False
        if clicked is login:
            try:
                path = desktop.set_autostart(True)
            except DesktopError as exc:
                QMessageBox.warning(self.window, "Start at login", str(exc))
                return False
            log.info("start at login turned on at quit (%s)", path)
            return True
        return clicked is anyway

    def _start_draining(self) -> None:
        """Start no new deployments; quit when the running ones have ended."""
        self.engine.drain()
        self.window.statusBar().showMessage("Waiting for the running deployments to finish…")
        self._drain_timer.start()

    def _check_drained(self) -> None:
        if self.engine.running == 0:
            self._drain_timer.stop()
            self.quit()

    def quit(self) -> None:
        self.quitting = True
        if self.window.overview is not None:
            self.window.overview.close()
        self.window.close()
        self.qapp.quit()

    def shutdown(self) -> bool:
        """After the event loop: stop the engine (running attempts resume next time). False
        when something still waits for a database that does not answer: the caller ends the
        process without waiting for it (at most STOP_WAIT_S here)."""
        self._drain_timer.stop()
        self._tray_wait.stop()
        self.heap.stop()
        if self.tray is not None:
            self.tray.hide()
        if self.instance_server is not None:
            self.instance_server.close()
        self.engine.drain()  # its timer stops here, on its own thread
        wait = 1.0 if self.no_answer else STOP_WAIT_S
        stop = within(lambda: self.engine.stop(interrupt=True), wait, "engine-stop")
        clean = bool(stop.value) and not stop.timed_out
        if stop.error is not None:
            log.warning("the engine did not stop cleanly: %s", stop.error)
        bound = 0 if self.no_answer or not clean else -1
        clean = self.tasks.shutdown(bound) and clean
        return self.window.tasks.shutdown(bound) and clean


def _next_due(waiting: WaitingWork) -> str:
    """`; the next is due at 2026-11-28 14:00` (local time), or nothing."""
    if waiting.next_at is None:
        return ""
    return f"; the next is due at {local_text(waiting.next_at)}"


def run_gui(database: str | None, demo: bool = False, in_tray: bool = False) -> int:
    running = QApplication.instance()
    app = running if isinstance(running, QApplication) else QApplication(sys.argv)
    configure_application(app)
    try:
        log_handler: logging.Handler | None = desktop.start_log_file()
    except OSError as exc:
        log_handler = None
        log.warning("cannot write the log in %s: %s", desktop.log_dir(), exc)
    reporter = ErrorReporter()
    reporter.install()
    try:
        return _run_gui(app, database, demo, in_tray)
    finally:
        reporter.uninstall()
        if log_handler is not None:
            desktop.stop_log_file(log_handler)


def _run_gui(app: QApplication, database: str | None, demo: bool, in_tray: bool) -> int:
    location = demo_database() if demo else (database or default_location())
    if not demo and notify_running(location):
        print("App Updater is already running on this database; brought its window forward.")
        return 0
    startup = Startup(
        app,
        location,
        # the tray at login runs on the database named now (the demo's is replaced at each start)
        autostart_database=None if demo else database,
        in_tray=in_tray,
        prepare=_load_demo if demo else None,
    )
    startup.begin()
    # Ctrl+C or a TERM from the session: quit now; running deployments resume next time
    signals = QuitSignals(lambda name: startup.quit())
    code = startup.finish(app.exec())
    signals.restore()
    clean = startup.controller.shutdown() if startup.controller is not None else True
    if not clean or startup.opener.busy:
        # a thread still waits for a database that does not answer; Qt's pools would wait for
        # theirs at exit for as long as the outage lasts: end here (what it was doing resumes
        # at the next start, or other engines take it over when this one's heartbeat is stale)
        log.warning("App Updater ended without waiting for the database (%d)", code)
        logging.shutdown()
        os._exit(code)
    close_database()
    log.info("App Updater ended (%d)", code)
    return code


def _load_demo() -> None:
    from appupdater.demo.fleet import load_demo

    load_demo(DEMO_DEVICES)
