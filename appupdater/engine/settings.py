"""What an engine can be told: how much it runs at once, how long it waits, how it retries, and
how it reaches devices. Plain values, so every entry point builds the same engine from them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from appupdater.errors import AppUpdaterError

# Deployments in flight at once. Each waits on its device in a thread of its own (blocked in a
# socket read or a sleep, not holding Python's lock); progress and ends go through one writer,
# so neither the database nor the GUI thread feels how many there are. 64 fits a workstation
# and the bandwidth of the artifact server behind it; a server engine can run thousands
# (bench/engine.py: 10,000 devices of 5 s at 1,000 and 2,000 at once).
DEFAULT_CONCURRENCY = 64
MAX_CONCURRENCY = 5000  # a thread each: ~64 KiB of memory per waiting deployment
HEARTBEATS_BEFORE_STALE = 3  # an engine is judged dead only after missing this many steps
MIN_BACKOFF = timedelta(seconds=0.1)


class SettingsError(AppUpdaterError, ValueError):
    """An engine setting out of its range; the message names the option and the range."""


@dataclass(frozen=True)
class GatewaySettings:
    """How devices are reached: agents over HTTP(S), the rest simulated."""

    agent_timeout: float = 10.0  # seconds for one request to an agent (a long poll adds its wait)
    poll_wait: float = 1.0  # how long an agent may hold a poll open
    reconnect_grace: float = 30.0  # how long an agent restarting mid-deployment is waited for
    cancel_wait: float = 15.0  # how long an agent is given to roll back after a cancel
    # deployment time of a simulated device (no endpoint) without a `sim.latency_s` label
    simulated_latency: float = 3.0


@dataclass(frozen=True)
class EngineSettings:
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: timedelta = timedelta(minutes=30)
    max_attempts: int = 3
    backoff: timedelta = timedelta(seconds=30)
    tick_ms: int = 500
    progress_interval: float = 0.25
    stale_after: timedelta = timedelta(seconds=15)
    # how often devices with an agent are asked what they run (None: never)
    probe_interval: timedelta | None = timedelta(seconds=60)
    probe_concurrency: int = 8
    gateways: GatewaySettings = field(default_factory=GatewaySettings)

    def __post_init__(self) -> None:
        # an engine beats once per tick: judged dead after fewer beats, a busy one would be
        # taken over while it runs (and its deployments run twice)
        tick = self.tick_ms / 1000
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise SettingsError(
                f"--concurrency must be between 1 and {MAX_CONCURRENCY:,}, not {self.concurrency}"
            )
        if not self.tick_ms > 0:
            raise SettingsError(f"the engine tick must be positive, not {self.tick_ms} ms")
        least = HEARTBEATS_BEFORE_STALE * tick
        stale = self.stale_after.total_seconds()
        if not (math.isfinite(stale) and stale >= least):
            raise SettingsError(
                f"--stale-after must be at least {least:g} seconds ({HEARTBEATS_BEFORE_STALE} "
                f"heartbeats of {tick:g} s), not {stale:g}: other engines take over the "
                "deployments of an engine silent that long"
            )
        backoff = self.backoff.total_seconds()
        if not (math.isfinite(backoff) and backoff >= MIN_BACKOFF.total_seconds()):
            raise SettingsError(
                f"--backoff must be at least {MIN_BACKOFF.total_seconds():g} seconds, "
                f"not {backoff:g}: it is the wait before a failed deployment is tried again"
            )
