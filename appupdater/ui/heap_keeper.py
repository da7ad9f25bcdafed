"""Collecting what big loads left settled (see appupdater/heap.py), in a long-running app:
soon after a window that held a big load has gone, and every few minutes when something was
settled since the last collection."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QTimer, Slot

from appupdater import heap

log = logging.getLogger("appupdater.ui")

SOON_MS = 2_000  # after a window closed: its deferred deletion has run by then
EVERY_MS = 10 * 60 * 1000


class HeapKeeper(QObject):
    def __init__(self, parent: QObject | None = None, soon_ms: int = SOON_MS):
        super().__init__(parent)
        self._soon = QTimer(self)
        self._soon.setObjectName("heap-soon")
        self._soon.setSingleShot(True)
        self._soon.setInterval(soon_ms)
        self._soon.timeout.connect(self.collect)
        self._every = QTimer(self)
        self._every.setObjectName("heap-every")
        self._every.setInterval(EVERY_MS)
        self._every.timeout.connect(self.collect)

    def start(self) -> None:
        self._every.start()

    def stop(self) -> None:
        self._soon.stop()
        self._every.stop()

    @Slot()
    def soon(self) -> None:
        """A big load was let go: collect in a moment (once, however often this is called)."""
        self._soon.start()

    @Slot()
    def collect(self) -> int:
        """Collect if anything was settled since the last time; the number of unreachable
        objects found."""
        if heap.settles_since_collect() == 0:
            return 0
        began = time.perf_counter()
        found = heap.collect_settled()
        log.info(
            "collected %d unreachable object(s) in %.0f ms; %d settled",
            found,
            (time.perf_counter() - began) * 1000,
            heap.settled_count(),
        )
        return found
