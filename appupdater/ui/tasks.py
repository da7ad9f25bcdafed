"""Running plain functions (planning, importing) off the GUI thread.

A `BackgroundTasks` owns its own `QThreadPool` and one signals object created in the thread
that owns it; results come back through `@Slot` methods (a per-runnable signals object connected
to lambdas was verified to lose results, see DESIGN.md). Each task runs with its own database
connection, closed when it ends.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from appupdater.store.models import db

log = logging.getLogger("appupdater.engine")

Result = TypeVar("Result")
Failed = Callable[[BaseException], object]  # what callbacks return is ignored


class _Signals(QObject):
    finished = Signal(int, object)
    failed = Signal(int, object)


class _Task(QRunnable):
    def __init__(self, token: int, work: Callable[[], object], signals: _Signals) -> None:
        super().__init__()
        self.token = token
        self.work = work
        self.signals = signals

    def run(self) -> None:
        try:
            database = db.obj
            if database is None:
                result = self.work()
            else:
                # Qt's pool threads do not keep Python's per-thread state between tasks, so a
                # connection cannot be kept for the next task: it would be dropped unclosed
                with database.connection_context():
                    result = self.work()
        except BaseException as exc:  # handed to the caller's error callback
            log.debug("background task %d failed", self.token, exc_info=True)
            self.signals.failed.emit(self.token, exc)
        else:
            self.signals.finished.emit(self.token, result)


class BackgroundTasks(QObject):
    """Submit callables; `on_done(result)` or `on_error(exception)` runs in this object's thread."""

    def __init__(self, parent: QObject | None = None, threads: int = 2):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._signals = _Signals(self)
        self._signals.finished.connect(self._finished)
        self._signals.failed.connect(self._failed)
        # token -> (on_done, on_error); each task has its own result type, checked at `submit`
        self._callbacks: dict[int, tuple[Callable[[Any], object], Failed]] = {}
        self._tokens = itertools.count(1)

    def submit(
        self,
        work: Callable[[], Result],
        on_done: Callable[[Result], object],
        on_error: Failed,
    ) -> int:
        """Run `work` in the pool; returns a token for `forget`."""
        token = next(self._tokens)
        self._callbacks[token] = (on_done, on_error)
        self.pool.start(_Task(token, work, self._signals))
        return token

    def forget(self, token: int) -> None:
        """Drop the callbacks of a task whose result is no longer wanted."""
        self._callbacks.pop(token, None)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every task has ended; True when none is left running."""
        return self.pool.waitForDone(msecs)

    def shutdown(self, msecs: int = -1) -> bool:
        """Forget every pending callback (their receivers are going away), then wait for the
        running tasks to end. Results that still arrive are dropped."""
        self._callbacks.clear()
        return self.pool.waitForDone(msecs)

    @Slot(int, object)
    def _finished(self, token: int, result: object) -> None:
        callbacks = self._callbacks.pop(token, None)
        if callbacks is not None:
            callbacks[0](result)

    @Slot(int, object)
    def _failed(self, token: int, error: BaseException) -> None:
        callbacks = self._callbacks.pop(token, None)
        if callbacks is not None:
            callbacks[1](error)
