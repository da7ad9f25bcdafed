"""How the engine's threads reach it: signals into the engine's (GUI) thread, and a function
as a `QRunnable` for its thread pools."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal

Told = tuple[Any, ...]  # (what, arguments...)


class Relay(QObject):
    """Created in the engine's (GUI) thread; told from the dispatcher and the workers. What they
    tell is kept in order and delivered in the engine's thread in batches: a thousand attempts
    that end together cost one queued call and one `changed`, not two thousand (each queued
    signal costs the GUI thread ~70 µs: 1,000 at once held it for 70–170 ms)."""

    ready = Signal()  # something to take: the engine calls `take()`

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._items: list[Told] = []

    def changed(self) -> None:
        self._tell(("changed",))

    def finished(self, deployment_id: int, state: str) -> None:
        self._tell(("finished", deployment_id, state))

    def failed(self, deployment_id: int, device: str, message: str) -> None:
        self._tell(("failed", deployment_id, device, message))

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

    def take(self) -> list[Told]:
        """What was told since the last `take`, in order."""
        with self._lock:
            items, self._items = self._items, []
        return items


class Call(QRunnable):
    def __init__(self, function: Callable[[], None]):
        super().__init__()
        self.function = function

    def run(self) -> None:
        self.function()
