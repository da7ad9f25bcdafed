"""What an engine can be told: how much it runs at once, how long it waits, how it retries, and
how it reaches devices. Plain values, so every entry point builds the same engine from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


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
    concurrency: int = 16
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
