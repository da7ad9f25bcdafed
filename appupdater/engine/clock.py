"""Time as the engine sees it: the system clock, or a hand-driven one for tests.

`now()` is the wall clock: written to the database, shown, compared with scheduled times.
`monotonic()` only ever moves forward, and means something only within one process: what an
engine times other engines' heartbeats with (see core/liveness.py)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from appupdater.store.fields import utcnow


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        """This machine's wall clock, corrected to the database server's (store/dbclock.py)."""
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to (thread-safe)."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime.now(UTC)
        self._start = self._now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Seconds advanced since it was made."""
        with self._lock:
            return (self._now - self._start).total_seconds()

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now
