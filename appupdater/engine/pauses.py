"""The failure limit as the dispatcher keeps it: pause the runs whose failures crossed their
limit, and tell about each run paused by its limit since the last step, whichever engine (or
process) paused it — not those already paused at this engine's first step."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from appupdater.core import rollout

log = logging.getLogger("appupdater.engine")


class LimitKeeper:
    def __init__(self, tell: Callable[[int, str], None]):
        self.tell = tell  # (run id, reason) of a run newly paused by its limit
        self._known: set[int] | None = None  # None: not read yet

    def step(self, now: datetime) -> bool:
        """Whether this step paused a run. Called from the dispatcher thread only."""
        paused = rollout.check_limits(now)
        for run_id, reason in paused:
            log.warning("run %d paused: %s", run_id, reason)
        current = dict(rollout.limit_paused())
        if self._known is not None:
            for run_id, reason in current.items():
                if run_id not in self._known:
                    self.tell(run_id, reason)
        self._known = set(current)
        return bool(paused)
