"""One deployment attempt from start to end state, as plain Python (the worker wraps it).

Progress, phase and events go to the database at most every `progress_interval` seconds, and
with the end of the attempt; the event log gets every phase. Cancel, quit and timeout all reach
the gateway through `should_stop`; which of them it was decides the end state.

The database may be away while an attempt runs (a server restart): progress that cannot be
written waits for the next write, and an end that cannot be written comes back as `Unrecorded`,
which the engine writes again until the database takes it (see engine/outage.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from appupdater.core import attempts
from appupdater.core.attempts import Reported
from appupdater.core.events import Event
from appupdater.core.jobs import DeploymentJob
from appupdater.engine.clock import Clock
from appupdater.engine.gateways.base import Gateway, Stopped
from appupdater.engine.outage import drop_connection, is_outage
from appupdater.engine.settings import EngineSettings
from appupdater.errors import GatewayError
from appupdater.store.models import DeploymentState

log = logging.getLogger("appupdater.engine")


@dataclass
class Handle:
    """How the engine reaches a running attempt from other threads."""

    cancel: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)  # App Updater is quitting
    # another engine took the attempt over (this one was thought dead): stop, record nothing
    lost: threading.Event = field(default_factory=threading.Event)
    claim: int = 0  # the claim number the attempt holds (see core/attempts.py)


class Unrecorded(Exception):
    """The attempt ended, but the database could not take its end. `write()` records it (each
    try is conditional on the claim, as every write of an attempt is: once another engine took
    the attempt over, it changes nothing) and returns what `execute` would have."""

    def __init__(
        self, job: DeploymentJob, write: Callable[[], DeploymentState | None], message: str
    ):
        super().__init__(f"the end of deployment {job.id} could not be recorded")
        self.job = job
        self.write = write
        self.message = message


def _record(
    job: DeploymentJob, write: Callable[[], DeploymentState | None], message: str
) -> tuple[DeploymentState | None, str]:
    try:
        return write(), message
    except Exception as exc:
        if not is_outage(exc):
            raise
        drop_connection()
        raise Unrecorded(job, write, message) from exc


class Reporter:
    """Collects progress and events; writes them throttled; learns of cancel requests and of
    a claim lost to another engine."""

    def __init__(self, job: DeploymentJob, clock: Clock, interval: float, handle: Handle):
        self.job = job
        self.clock = clock
        self.interval = interval
        self.handle = handle
        self.phase = ""
        self.percent = 0
        self.events: list[Event] = []
        # the claim wrote "connecting, 0 %": the first write is due one interval later, so a
        # quick deployment writes its phases and events once, with its end
        self._last = time.monotonic()

    def __call__(self, phase: str, percent: float, message: str | None = None) -> None:
        self.phase = phase
        self.percent = max(0, min(100, int(percent)))
        if message:
            self.events.append(Event.info(self.clock.now(), message))
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        try:
            reported = attempts.report_progress(
                self.job, self.phase, self.percent, self.clock.now(), self.events
            )
        except Exception as exc:
            if not is_outage(exc):
                raise
            drop_connection()  # the events wait for the next write (or the end)
            return
        if reported is Reported.CANCEL_REQUESTED:
            self.handle.cancel.set()
        elif reported is Reported.CLAIM_LOST:
            self.handle.lost.set()
        self.events = []

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events


def execute(
    job: DeploymentJob, gateway: Gateway, settings: EngineSettings, clock: Clock, handle: Handle
) -> tuple[DeploymentState | None, str]:
    """Run one attempt; write its end; return (the state the database recorded, message).
    The state is None when nothing was recorded: another engine had taken the attempt over."""
    reporter = Reporter(job, clock, settings.progress_interval, handle)
    deadline = time.monotonic() + settings.timeout.total_seconds()

    def should_stop() -> bool:
        return (
            handle.cancel.is_set()
            or handle.stop.is_set()
            or handle.lost.is_set()
            or time.monotonic() >= deadline
        )

    try:
        message = gateway.deploy(job, reporter, should_stop)
    except Stopped:
        events = reporter.take_events()
        now = clock.now()
        if handle.lost.is_set():  # the engine logs it
            return None, "taken over by another engine"
        if handle.stop.is_set() and not handle.cancel.is_set():
            return _record(job, lambda: attempts.interrupt(job, now, events), "interrupted")
        if handle.cancel.is_set():
            return _record(job, lambda: attempts.cancelled(job, now, events), "cancelled")
        minutes = settings.timeout.total_seconds() / 60
        text = f"{job.device} did not finish within {minutes:g} min (timeout)"
        return _failed(job, settings, clock, text, transient=True, events=events)
    except GatewayError as exc:
        return _failed(
            job, settings, clock, str(exc), transient=exc.transient, events=reporter.take_events()
        )
    except Exception as exc:  # a bug in a gateway: fail this deployment, keep the engine alive
        log.exception("gateway failed on deployment %d", job.id)
        text = f"internal error while deploying to {job.device}: {exc!r}"
        return _failed(job, settings, clock, text, transient=False, events=reporter.take_events())
    events = reporter.take_events()
    now = clock.now()
    if handle.cancel.is_set():
        events.append(Event.info(now, "cancel came too late: the device had already finished"))
    return _record(job, lambda: attempts.succeed(job, now, message, events), message)


def _failed(
    job: DeploymentJob,
    settings: EngineSettings,
    clock: Clock,
    text: str,
    *,
    transient: bool,
    events: list[Event],
) -> tuple[DeploymentState | None, str]:
    now = clock.now()

    def write() -> DeploymentState | None:
        return attempts.fail(
            job,
            now,
            text,
            transient=transient,
            max_attempts=settings.max_attempts,
            backoff=settings.backoff,
            events=events,
        )

    return _record(job, write, text)
