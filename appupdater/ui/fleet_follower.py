"""The main window follows the database by itself: while it is shown, it reads the fleet's
fingerprint (appupdater/core/fleet_changes.py) every few seconds off the GUI thread and asks
for a reload only when that changed. The window hands back the fingerprint it read *before*
each load, so a change during a load is loaded again, never missed."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from appupdater.core.fleet_changes import Fingerprint, fleet_fingerprint
from appupdater.ui.tasks import BackgroundTasks


class FleetFollower(QObject):
    changed = Signal()  # the fleet differs from what was last loaded: reload

    BASE_MS = 2000
    LOAD_FACTOR = 5  # wait at least this many times the last load between reloads

    def __init__(self, tasks: BackgroundTasks, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.base_ms = self.BASE_MS
        self.seen: Fingerprint | None = None  # of what the window shows
        self.loading = False  # the window is loading: no look meanwhile
        self.looks = 0  # fingerprints read (for tests and diagnostics)
        self._reading = False
        self.timer = QTimer(self)
        self.timer.setObjectName("follow-fleet")
        self.timer.setInterval(self.base_ms)
        self.timer.timeout.connect(self.look)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def look(self) -> None:
        """Read the fingerprint in the background (one read at a time, none during a load)."""
        if self._reading or self.loading or self.seen is None:
            return
        self._reading = True
        self.tasks.submit(fleet_fingerprint, self._read, self._failed)

    def loaded(self, fingerprint: Fingerprint, load_ms: float) -> None:
        """The window loaded the fleet as of `fingerprint`, which took `load_ms`."""
        self.loading = False
        self.seen = fingerprint
        self.timer.setInterval(max(self.base_ms, int(load_ms * self.LOAD_FACTOR)))

    def _read(self, fingerprint: Fingerprint) -> None:
        self._reading = False
        self.looks += 1
        if not self.loading and self.seen is not None and fingerprint != self.seen:
            self.loading = True
            self.changed.emit()

    def _failed(self, error: BaseException) -> None:
        self._reading = False  # a locked or unreachable database: look again next time
