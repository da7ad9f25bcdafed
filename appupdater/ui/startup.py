"""From the command line to a running application: the database opens off the GUI thread
(ui/database_opener.py) while a small window says where it connects; a shared database with an
older schema is migrated only after asking; then the application starts."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from appupdater import __version__
from appupdater.engine.build import build_engine
from appupdater.errors import AppUpdaterError
from appupdater.store.db import make_database
from appupdater.store.migration_plan import MigrationPlan
from appupdater.store.postgres import is_url, redact
from appupdater.ui.database_opener import DatabaseOpener
from appupdater.ui.startup_window import ConnectingWindow, MigrationDialog

log = logging.getLogger("appupdater.ui")


def is_local(location: str) -> bool:
    """A SQLite file opens in milliseconds: on the GUI thread, as before, without a window
    while it opens (a thread would only delay the main window)."""
    return not is_url(location) or location.lower().startswith("sqlite:")


def give_up_after(location: str) -> int | None:
    """The seconds after which connecting to a server is given up (libpq's connect_timeout,
    from the URL, PGCONNECT_TIMEOUT or ours); None when unknown."""
    if is_local(location):
        return None
    try:
        params = dict(make_database(location).connect_params)
        from psycopg2.extensions import parse_dsn  # type: ignore[import-untyped]

        params.update(parse_dsn(params.pop("dsn", "")))
    except (AppUpdaterError, ImportError):
        return None
    value = str(params.get("connect_timeout") or os.environ.get("PGCONNECT_TIMEOUT") or "")
    return int(value) if value.isdigit() and int(value) > 0 else None


class Startup(QObject):
    """Opens the database, then builds and starts the `Application`. `code` is the exit code
    when the person quit before the application started."""

    started = Signal()

    def __init__(
        self,
        qapp: QApplication,
        location: str,
        *,
        autostart_database: str | None = None,
        in_tray: bool = False,
        prepare: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        from appupdater.ui.app import Application

        self.qapp = qapp
        self.location = location
        self.autostart_database = autostart_database
        self.in_tray = in_tray
        self.controller: Application | None = None
        self.code = 0
        self.opener = DatabaseOpener(location, prepare, self)
        self.opener.opened.connect(self._opened)
        self.opener.failed.connect(self._failed)
        self.opener.migration_due.connect(self._ask_migration)
        self.window = ConnectingWindow(redact(location), give_up_after(location))
        self.window.retry_requested.connect(self._retry)
        self.window.quit_requested.connect(self.quit)
        self.dialog: MigrationDialog | None = None

    def begin(self) -> None:
        local = is_local(self.location)
        if not local and not self.in_tray:
            self.window.show()
        self.opener.open(here=local)

    def _retry(self) -> None:
        self.window.connecting()
        self.opener.open()

    def _failed(self, text: str) -> None:
        log.error("cannot open the database: %s", text)
        if self.dialog is not None:
            self.dialog.done(0)
            self.dialog.deleteLater()
            self.dialog = None
        self.window.failed(text)
        self.window.show()
        self.window.raise_()

    def _ask_migration(self, plan: MigrationPlan) -> None:
        log.info("%s: asking before migrating", plan.headline())
        self.window.show()
        self.dialog = MigrationDialog(plan, self.window)
        self.dialog.migrate_requested.connect(self._migrate)
        self.dialog.rejected.connect(self.quit)
        self.dialog.setModal(True)
        self.dialog.show()

    def _migrate(self) -> None:
        log.info("migrating the database %s, as asked", redact(self.location))
        self.opener.migrate()

    def _opened(self) -> None:
        from appupdater.ui.app import Application

        log.info(
            "App Updater %s started on %s (Python %s)",
            __version__,
            redact(self.location),
            sys.version.split()[0],
        )
        controller = self.controller = Application(self.qapp, build_engine())
        controller.window.autostart_action.database = self.autostart_database
        controller.start(self.location, in_tray=self.in_tray)
        # the main window is up before these go, so closing them does not end the application
        if self.dialog is not None:
            self.dialog.done(1)
            self.dialog.deleteLater()
            self.dialog = None
        self.window.quit_requested.disconnect(self.quit)
        self.window.close()
        self.started.emit()

    def quit(self) -> None:
        """Quit before or after the application started (Ctrl+C, a TERM, Quit)."""
        if self.controller is not None:
            self.controller.quit()
            return
        self.code = 1
        self.window.hide()
        self.qapp.quit()

    def finish(self, code: int) -> int:
        """After the event loop: stop what was started; the exit code."""
        if self.controller is None:
            if self.opener.busy:
                log.info("quit while opening the database %s", redact(self.location))
            return self.code or code
        return code
