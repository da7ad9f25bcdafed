"""When one engine may think another dead, without trusting anybody's wall clock.

Each engine bumps a counter (`EngineInstance.beat`) on every scheduling step. Another engine
watches those counters and times them on its own clock (`time.monotonic()` in the engine): an
engine whose counter has not moved for `stale_after`, as the watcher measured it, is silent.
Clocks of different machines are never compared, so a clock minutes ahead or behind, or one
that jumps, changes nothing. A watcher that just started has seen nothing for long: it takes
nothing over before it has watched for `stale_after` itself.

A watcher counts only the time it watched. When its looks are far apart — the database was
unreachable for everybody (a PostgreSQL restart, SQLite held by a long import), or its own
step stalled — the others could not beat either, so a pause between two looks counts for at
most `stale_after / 4`, or one tick when that is longer (a watcher looking every tick counts
all of it). After an outage a live engine thus still has most of `stale_after` to beat again
(about 10 s with the defaults; one tick with the least `stale_after` allowed, three ticks),
while a watcher whose every step stalls still judges a dead engine, after four such looks:
never judging anybody would leave a dead engine's deployments running for ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

PAUSE_COUNTED = 0.25  # of stale_after: the most one pause between two looks counts for


@dataclass(frozen=True)
class _Seen:
    beat: int
    since: float  # the time watched (see Watch.watched) when this beat was first seen


class Watch:
    """What engine `instance` has seen of the others' beats, and since when (its own clock).
    One per engine, kept for its lifetime; `timer` is its monotonic clock in seconds; `tick`
    how often it looks when nothing stalls."""

    def __init__(
        self,
        instance: str,
        stale_after: timedelta,
        timer: Callable[[], float] = time.monotonic,
        *,
        tick: timedelta = timedelta(0),
    ):
        self.instance = instance
        self.stale_after = stale_after.total_seconds()
        self.timer = timer
        # the most one pause between two looks counts for
        self.pause_counted = max(tick.total_seconds(), self.stale_after * PAUSE_COUNTED)
        self.watched = 0.0  # seconds watched: the timer's, each pause counted up to a cap
        self._looked: float | None = None  # the timer at the last look
        self._seen: dict[str, _Seen] = {}

    def silent(self, beats: Mapping[str, int]) -> dict[str, int]:
        """Given every other engine's beat as read now, those silent for `stale_after`, with
        the beat they are silent at. Engines no longer listed are forgotten."""
        now = self.timer()
        if self._looked is not None:
            pause = max(0.0, now - self._looked)
            self.watched += min(pause, self.pause_counted)
        self._looked = now
        seen: dict[str, _Seen] = {}
        silent: dict[str, int] = {}
        for other, beat in beats.items():
            if other == self.instance:
                continue
            before = self._seen.get(other)
            kept = before is not None and before.beat == beat
            seen[other] = before if before is not None and kept else _Seen(beat, self.watched)
            if self.watched - seen[other].since >= self.stale_after:
                silent[other] = beat
        self._seen = seen
        return silent
