"""How the engine's threads reach it: signals into the engine's (GUI) thread, and a function
as a `QRunnable` for its thread pools."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal

Told = tuple[Any, ...]  # (the name of the engine's signal, its arguments...)


class Relay(QObject):
    """Created in the engine's (GUI) thread; told from the dispatcher and the workers. What they
    tell is kept in order and delivered in the engine's thread in batches (`deliver`): a
    thousand attempts that end together cost one queued call and one `changed`, not two
    thousand queued signals."""

    ready = Signal()  # something to deliver: the engine calls `deliver()`

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._items: list[Told] = []

    def changed(self) -> None:
        self._tell((CHANGED,))

    def finished(self, deployment_id: int, state: str) -> None:
        self._tell(("deployment_finished", deployment_id, state))

    def failed(self, deployment_id: int, device: str, message: str) -> None:
        self._tell(("deployment_failed", deployment_id, device, message))

    def run_completed(self, run_id: int, succeeded: int, failed: int) -> None:
        self._tell(("run_completed", run_id, succeeded, failed))

    def run_paused(self, run_id: int, reason: str) -> None:
        self._tell(("run_paused", run_id, reason))

    def _tell(self, item: Told) -> None:
        with self._lock:
            first = not self._items
            self._items.append(item)
        if first:
            self.ready.emit()

    def deliver(self, target: QObject) -> None:
        """Emit what was told since the last delivery as `target`'s signals of those names,
        in order; then one `changed` for all the changes among them."""
        with self._lock:
            items, self._items = self._items, []
        changed = False
        for name, *args in items:
            if name != CHANGED:
                getattr(target, name).emit(*args)
            changed = changed or name in CHANGES
        if changed:
            getattr(target, CHANGED).emit()


CHANGED = "changed"
CHANGES = {CHANGED, "deployment_finished"}  # told that deployments changed: re-read them


class Call(QRunnable):
    def __init__(self, function: Callable[[], None]):
        super().__init__()
        self.function = function

    def run(self) -> None:
        self.function()
