"""Opening the database off the GUI thread: a server that does not answer must not keep the
window from showing, and a schema migration that waits for another process's lock must not
freeze it.

The work runs on a plain daemon thread rather than a Qt pool: a connection attempt that hangs
cannot be cancelled, and a Qt pool would wait for it when the application ends; a daemon
thread is let go. Results come back through a signal of this object (created in the GUI
thread) into a `@Slot`. The thread opens its own connection and closes it; the GUI thread's
code opens its own on first use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from appupdater.errors import AppUpdaterError, SchemaTooOldError
from appupdater.store.db import close_database, open_database, translate_errors
from appupdater.store.migration_plan import MigrationPlan, migration_plan
from appupdater.store.postgres import redact

log = logging.getLogger("appupdater.ui")


class DatabaseOpener(QObject):
    """`open()` opens the database; then `opened`, `migration_due(plan)` (a shared database
    with an older schema: ask, then `migrate()`) or `failed(text)`."""

    opened = Signal()
    migration_due = Signal(object)  # MigrationPlan
    failed = Signal(str)
    _result = Signal(str, object)  # from the opening thread

    def __init__(
        self,
        location: str,
        prepare: Callable[[], object] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """`prepare` runs after the opening, on the opening thread (the demo fleet is loaded
        there)."""
        super().__init__(parent)
        self.location = location
        self.prepare = prepare
        self.worker: threading.Thread | None = None
        self._result.connect(self._deliver)

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    def open(self, *, here: bool = False) -> None:
        """On a thread of its own; with `here` on the calling thread (a local file opens in
        milliseconds, and a thread would only delay the window)."""
        self._start(self._open, "open-database", here=here)

    def migrate(self) -> None:
        self._start(self._migrate, "migrate-database")

    def _start(
        self, work: Callable[[], tuple[str, object]], name: str, *, here: bool = False
    ) -> None:
        def run() -> None:
            try:
                outcome = work()
            except AppUpdaterError as exc:
                outcome = ("failed", str(exc))
            except Exception as exc:  # a bug of ours: said in words, logged whole
                log.exception("opening the database %s failed", redact(self.location))
                outcome = ("failed", f"cannot open the database {redact(self.location)}: {exc}")
            finally:
                close_database()  # this thread's connection
            self._result.emit(*outcome)

        if here:
            run()
            return
        self.worker = threading.Thread(target=run, name=name, daemon=True)
        self.worker.start()

    def _open(self) -> tuple[str, object]:
        try:
            open_database(self.location)
        except SchemaTooOldError:
            # a shared database is not migrated without asking: ask
            plan = migration_plan(open_database(self.location, migrate=False))
            if plan is None:
                raise
            return "migrate", plan
        return self._prepared()

    def _migrate(self) -> tuple[str, object]:
        from appupdater.store.migrations import ensure_schema

        database = open_database(self.location, migrate=False)
        with translate_errors(database):
            ensure_schema(database, confirmed=True)  # under the advisory lock: others wait
        open_database(self.location)
        return self._prepared()

    def _prepared(self) -> tuple[str, object]:
        if self.prepare is not None:
            self.prepare()
        return "opened", None

    @Slot(str, object)
    def _deliver(self, kind: str, payload: object) -> None:
        if kind == "opened":
            self.opened.emit()
        elif kind == "migrate" and isinstance(payload, MigrationPlan):
            self.migration_due.emit(payload)
        else:
            self.failed.emit(str(payload))
