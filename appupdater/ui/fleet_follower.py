"""The main window's fleet, loaded and followed: F5 or an import loads it with the busy bar; and
while the window is shown, the fleet's fingerprint (appupdater/core/fleet_changes.py) is read
every few seconds off the GUI thread, and the fleet loaded again, quietly, only when that
changed. Each load reads the fingerprint *before* the fleet, so a change during a load is
loaded again, never missed. One load at a time."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from appupdater.core.fleet_changes import Fingerprint, fleet_fingerprint
from appupdater.core.inventory import Inventory, load_inventory
from appupdater.ui.busy_status import BusyStatus
from appupdater.ui.tasks import BackgroundTasks


def read_fleet() -> tuple[Fingerprint, Inventory]:
    """The fingerprint first, then the fleet: a change in between is loaded again later."""
    return fleet_fingerprint(), load_inventory()


class FleetFollower(QObject):
    loaded = Signal(object)  # Inventory: show it
    failed = Signal(str)  # a quiet load failed: say so briefly (a loud one has its box)

    BASE_MS = 2000
    LOAD_FACTOR = 5  # wait at least this many times the last load between reloads

    def __init__(self, tasks: BackgroundTasks, busy: BusyStatus, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.busy = busy
        self.base_ms = self.BASE_MS
        self.seen: Fingerprint | None = None  # of what the window shows
        self.loading = False  # a load runs: no look, no second load meanwhile
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

    def reload(self, quietly: bool = False) -> None:
        """Load the fleet; with the busy bar (and a message box if it fails) unless quietly."""
        self.loading = True
        started = time.perf_counter()

        def done(result: tuple[Fingerprint, Inventory]) -> None:
            fingerprint, inventory = result
            self.loading = False
            self.seen = fingerprint
            load_ms = (time.perf_counter() - started) * 1000
            self.timer.setInterval(max(self.base_ms, int(load_ms * self.LOAD_FACTOR)))
            self.loaded.emit(inventory)

        if quietly:
            self.tasks.submit(read_fleet, done, self._load_failed)
        else:
            self.busy.run("Loading the fleet…", read_fleet, done, "Load the fleet", self._ended)

    def _load_failed(self, error: BaseException) -> None:
        self._ended(error)
        self.failed.emit(f"Cannot read the fleet: {error}")

    def _ended(self, error: BaseException) -> None:
        self.loading = False  # a locked database: the next look tries again

    def look(self) -> None:
        """Read the fingerprint in the background (one read at a time, none during a load)."""
        if self._reading or self.loading or self.seen is None:
            return
        self._reading = True
        self.tasks.submit(fleet_fingerprint, self._read, self._failed)

    def _read(self, fingerprint: Fingerprint) -> None:
        self._reading = False
        self.looks += 1
        if not self.loading and self.seen is not None and fingerprint != self.seen:
            self.reload(quietly=True)

    def _failed(self, error: BaseException) -> None:
        self._reading = False  # a locked or unreachable database: look again next time
