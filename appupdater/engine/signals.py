"""SIGINT and SIGTERM for a Qt event loop: Python runs signal handlers only between bytecodes,
so a timer wakes the interpreter now and then while Qt waits in C."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

from PySide6.QtCore import QObject, QTimer


class QuitSignals(QObject):
    """Calls `on_signal(name)` once when SIGINT or SIGTERM arrives; `restore()` undoes it."""

    def __init__(self, on_signal: Callable[[str], None], parent: QObject | None = None):
        super().__init__(parent)
        self.on_signal = on_signal
        self.received: str | None = None
        self.previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        self.pulse = QTimer(self)
        self.pulse.setObjectName("signal-pulse")
        self.pulse.timeout.connect(lambda: None)
        self.pulse.start(200)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signal.Signals(signum).name
            self.on_signal(self.received)

    def restore(self) -> None:
        self.pulse.stop()
        for number, handler in self.previous.items():
            signal.signal(number, handler)
