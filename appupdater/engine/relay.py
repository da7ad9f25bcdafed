"""How the engine's threads reach it: signals into the engine's (GUI) thread, and a function
as a `QRunnable` for its thread pools."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, Signal


class Relay(QObject):
    """Created in the engine's (GUI) thread; emitted from the dispatcher and the workers."""

    changed = Signal()
    finished = Signal(int, str)
    failed = Signal(int, str, str)
    run_completed = Signal(int, int, int)


class Call(QRunnable):
    def __init__(self, function: Callable[[], None]):
        super().__init__()
        self.function = function

    def run(self) -> None:
        self.function()
