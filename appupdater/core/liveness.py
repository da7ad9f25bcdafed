"""When one engine may think another dead, without trusting anybody's wall clock.

Each engine bumps a counter (`EngineInstance.beat`) on every scheduling step. Another engine
watches those counters and times them on its own clock (`time.monotonic()` in the engine): an
engine whose counter has not moved for `stale_after`, as the watcher measured it, is silent.
Clocks of different machines are never compared, so a clock minutes ahead or behind, or one
that jumps, changes nothing. A watcher that just started has seen nothing for long: it takes
nothing over before it has watched for `stale_after` itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class _Seen:
    beat: int
    since: float  # the watcher's clock when it first saw this beat


class Watch:
    """What engine `instance` has seen of the others' beats, and since when (its own clock).
    One per engine, kept for its lifetime; `timer` is its monotonic clock in seconds."""

    def __init__(
        self,
        instance: str,
        stale_after: timedelta,
        timer: Callable[[], float] = time.monotonic,
    ):
        self.instance = instance
        self.stale_after = stale_after.total_seconds()
        self.timer = timer
        self._seen: dict[str, _Seen] = {}

    def silent(self, beats: Mapping[str, int]) -> dict[str, int]:
        """Given every other engine's beat as read now, those silent for `stale_after`, with
        the beat they are silent at. Engines no longer listed are forgotten."""
        now = self.timer()
        seen: dict[str, _Seen] = {}
        silent: dict[str, int] = {}
        for other, beat in beats.items():
            if other == self.instance:
                continue
            before = self._seen.get(other)
            seen[other] = before if before is not None and before.beat == beat else _Seen(beat, now)
            if now - seen[other].since >= self.stale_after:
                silent[other] = beat
        self._seen = seen
        return silent
