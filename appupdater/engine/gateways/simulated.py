"""Simulated devices for demos and tests, steered by device labels:

- ``sim.latency_s``: how long a whole deployment takes (default: the gateway's);
- ``sim.failure_rate``: 0 to 1, the chance an attempt fails on the device (a permanent failure
  with a device-style error text);
- ``sim.offline``: true makes the device unreachable (a transient failure, retried).

Outcomes are drawn from a generator seeded by (deployment, attempt), so a run is repeatable.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from appupdater.core.jobs import DeploymentJob
from appupdater.core.words import plural
from appupdater.engine.gateways.base import (
    DeviceTarget,
    Gateway,
    ProbeResult,
    Progress,
    ShouldStop,
    Stopped,
)
from appupdater.errors import DeviceRejected, DeviceUnreachable
from appupdater.store.models import DeploymentPhase

P = DeploymentPhase
PHASES = ((P.CONNECTING, 0.1), (P.DOWNLOADING, 0.5), (P.INSTALLING, 0.3), (P.VERIFYING, 0.1))
STEP_S = 0.25  # granularity of progress and of checks for stop


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class SimulatedGateway(Gateway):
    def __init__(
        self,
        latency_s: float = 3.0,
        failure_rate: float = 0.0,
        offline: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.latency_s = latency_s
        self.failure_rate = failure_rate
        self.offline = offline
        self.sleep = sleep

    def probe(self, device: DeviceTarget) -> ProbeResult:
        """A simulated device answers unless it is labelled offline. It runs what was last
        deployed to it, which the database already holds, so it reports nothing new."""
        if _flag((device.labels or {}).get("sim.offline", self.offline)):
            return ProbeResult(False, message=f"{device.name} unreachable (simulated: sim.offline)")
        return ProbeResult(True)

    def deploy(self, job: DeploymentJob, progress: Progress, should_stop: ShouldStop) -> str:
        if job.cancelling:  # a simulated device keeps nothing of an attempt it stopped
            raise Stopped(f"{job.device} stopped (simulated)")
        labels = job.labels or {}
        latency = max(0.0, float(labels.get("sim.latency_s", self.latency_s)))
        rate = min(1.0, max(0.0, float(labels.get("sim.failure_rate", self.failure_rate))))
        offline = _flag(labels.get("sim.offline", self.offline))
        rng = random.Random(f"{job.id}:{job.attempt}")
        fails = rng.random() < rate
        done = 0.0
        for phase, share in PHASES:
            progress(phase, done, self._phase_text(job, phase))
            seconds = latency * share
            steps = max(1, round(seconds / STEP_S)) if seconds else 1
            for step in range(steps):
                if should_stop():
                    raise Stopped(f"{job.device} stopped (simulated)")
                if seconds:
                    self.sleep(seconds / steps)
                if phase is P.CONNECTING and offline:
                    continue
                progress(phase, done + share * 100 * (step + 1) / steps, None)
            if phase is P.CONNECTING and offline:
                raise DeviceUnreachable(f"{job.device} unreachable (simulated: sim.offline)")
            done += share * 100
            if phase is P.INSTALLING and fails:
                module = self._some_module(job, rng)
                raise DeviceRejected(
                    f"{job.device}: installing {module} failed: container exited with code 137 "
                    "(simulated: sim.failure_rate)"
                )
        apps = ", ".join(f"{a.application} {a.version}" for a in job.config) or "no applications"
        return f"deployed to {job.device}: {apps}"

    @staticmethod
    def _phase_text(job: DeploymentJob, phase: str) -> str:
        if phase == P.DOWNLOADING:
            count = sum(len(a.modules) for a in job.config)
            return f"downloading {plural(count, 'module image')}"
        if phase == P.INSTALLING:
            return "installing modules"
        if phase == P.VERIFYING:
            return "verifying that every module runs"
        return f"connecting to {job.device}"

    @staticmethod
    def _some_module(job: DeploymentJob, rng: random.Random) -> str:
        modules = [f"{m.name} {m.version}" for a in job.config for m in a.modules]
        return rng.choice(modules) if modules else "the configuration"
