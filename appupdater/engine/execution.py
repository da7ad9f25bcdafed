"""One deployment attempt from start to end state, as plain Python (the worker wraps it).

Progress, phase and events go to the engine's writer (engine/writer.py), which writes those of
all attempts in one transaction every `progress_interval` seconds; the end of the attempt is
written with the next batch, and the attempt waits for its commit. The event log gets every
phase. Cancel, quit and timeout all reach the gateway through `should_stop`; which of them it
was decides the end state.

The database may be away while an attempt runs (a server restart): progress that cannot be
written waits for the next batch, and an end that cannot be written comes back as `Unrecorded`,
which the engine writes again until the database takes it (see engine/outage.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from appupdater.core import attempts
from appupdater.core.events import Event
from appupdater.core.jobs import DeploymentJob
from appupdater.engine.clock import Clock
from appupdater.engine.gateways.base import Gateway, Stopped, StopUnconfirmed
from appupdater.engine.settings import EngineSettings
from appupdater.engine.writer import EndWrite, NotWritten, Writer
from appupdater.errors import GatewayError
from appupdater.store.models import DeploymentPhase, DeploymentState

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
    job: DeploymentJob, writer: Writer, write: EndWrite, message: str, events: Sequence[Event] = ()
) -> tuple[DeploymentState | None, str]:
    try:
        return writer.end(job, write, events), message
    except NotWritten as exc:
        raise Unrecorded(job, exc.retry, message) from exc.__cause__


class Reporter:
    """Hands progress and events to the writer, which writes them in batches and learns of
    cancel requests and of a claim lost to another engine (it sets the handle's events)."""

    def __init__(self, job: DeploymentJob, clock: Clock, handle: Handle, writer: Writer):
        self.job = job
        self.clock = clock
        self.handle = handle
        self.writer = writer

    def __call__(self, phase: str, percent: float, message: str | None = None) -> None:
        event = Event.info(self.clock.now(), message) if message else None
        percent = max(0, min(100, int(percent)))
        self.writer.progress(self.job, self.handle, phase, percent, event)


def execute(
    job: DeploymentJob,
    gateway: Gateway,
    settings: EngineSettings,
    clock: Clock,
    handle: Handle,
    writer: Writer,
) -> tuple[DeploymentState | None, str]:
    """Run one attempt; write its end (through `writer`); return (the state the database
    recorded, message). The state is None when nothing was recorded: another engine had taken
    the attempt over."""
    reporter = Reporter(job, clock, handle, writer)
    deadline = time.monotonic() + settings.timeout.total_seconds()

    def should_stop() -> bool:
        return (
            handle.cancel.is_set()
            or handle.stop.is_set()
            or handle.lost.is_set()
            or time.monotonic() >= deadline
        )

    if job.along and not job.cancelling:  # said before the device is contacted
        reporter(
            DeploymentPhase.CONNECTING,
            0,
            f"also pushes {', '.join(job.along)}: configured earlier, not on the device yet "
            "(a deployment pushes the device's whole configuration)",
        )
    try:
        message = gateway.deploy(job, reporter, should_stop)
    except (Stopped, StopUnconfirmed) as exc:
        # Stopped: the device confirmed it; StopUnconfirmed: it may still finish the attempt
        stopped = exc.how if isinstance(exc, Stopped) else None
        now = clock.now()
        cancel = handle.cancel.is_set() or job.cancelling
        if handle.lost.is_set():  # the engine logs it
            writer.forget(job)
            return None, "taken over by another engine"
        if handle.stop.is_set() and not cancel:
            return _record(
                job, writer, lambda e: attempts.interrupt(job, now, e, stopped), "interrupted"
            )
        if cancel and stopped is not None:
            return _record(
                job, writer, lambda e: attempts.cancelled(job, now, stopped, e), "cancelled"
            )
        if cancel:
            why = str(exc)
            return _record(
                job,
                writer,
                lambda e: attempts.cancel_unconfirmed(job, now, why, settings.backoff, e),
                f"cancel not confirmed: {why}",
            )
        minutes = settings.timeout.total_seconds() / 60
        text = f"{job.device} did not finish within {minutes:g} min (timeout)"
        if stopped is None:
            text = f"{text}; {exc}"
        return _failed(job, settings, clock, writer, text, transient=True)
    except GatewayError as exc:
        return _failed(job, settings, clock, writer, str(exc), transient=exc.transient)
    except Exception as exc:  # a bug in a gateway: fail this deployment, keep the engine alive
        log.exception("gateway failed on deployment %d", job.id)
        text = f"internal error while deploying to {job.device}: {exc!r}"
        return _failed(job, settings, clock, writer, text, transient=False)
    now = clock.now()
    late = []
    if handle.cancel.is_set() or job.cancelling:
        late.append(Event.info(now, "cancel came too late: the device had already finished"))
    return _record(job, writer, lambda e: attempts.succeed(job, now, message, e), message, late)


def _failed(
    job: DeploymentJob,
    settings: EngineSettings,
    clock: Clock,
    writer: Writer,
    text: str,
    *,
    transient: bool,
) -> tuple[DeploymentState | None, str]:
    now = clock.now()

    def write(events: Sequence[Event]) -> DeploymentState | None:
        return attempts.fail(
            job,
            now,
            text,
            transient=transient,
            max_attempts=settings.max_attempts,
            backoff=settings.backoff,
            events=events,
        )

    return _record(job, writer, write, text)
