"""The deployment state machine as a table: each state, reached through the functions that
produce it, meets each action; the table says the resulting state, attempts and the event
written, or that nothing changes and nothing is logged. No threads, no wall clock.

Timeline of every case (UTC, 2026-11-27): the run is approved and configured at 09:00;
engine-a claims at 09:01; the attempt ends, engine-b takes over, or the administrator acts at
09:02; the action under test happens at 09:10 (engine-a silent for 9 min, engine-b for 8), or,
for "promote due", at the time its name says. Scheduled deployments wait for 10:00; a transient
failure at 09:02 is retried at 09:02:30. An engine takes another's deployments over only
after watching its heartbeat counter stand still for `stale_after` on the watcher's own clock
(`_take_over`); the times written by heartbeats are never compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from appupdater.core import actions, attempts, run_decisions, scheduling
from appupdater.core.events import Event
from appupdater.core.jobs import DeploymentJob
from appupdater.core.liveness import Watch
from appupdater.core.runs import DEPLOY_NOW, DeviceAction
from appupdater.errors import RunError
from appupdater.store.models import DeployAction, UpdateRun
from tests.core.lifecycle import (
    T0,
    approve_and_configure,
    events_since,
    last_event_id,
    load_fleet,
    row,
)

A, B, C = "engine-a", "engine-b", "engine-c"
STALE_AFTER = timedelta(seconds=15)
BACKOFF = timedelta(seconds=30)
HOW = "the device was told to stop"  # how a gateway says the device stopped
CLAIMED = T0 + timedelta(minutes=1)
ENDED = T0 + timedelta(minutes=2)
NOW = T0 + timedelta(minutes=10)
AT = T0 + timedelta(hours=1)  # the scheduled time
RETRY_AT = ENDED + BACKOFF
LATER = T0 + timedelta(hours=3)  # where `reschedule` moves it
DEVICE = "press-01"


@pytest.fixture
def fleet(db):
    load_fleet((DEVICE,), versions=3)


# -- starting states, each reached through the functions that produce it -----------------------


@dataclass(frozen=True)
class Subject:
    """The deployment under test, and the job engine-a was given for it, if any (it reports
    the end of an attempt; for a deployment no longer running under it, a late report)."""

    id: int
    job: DeploymentJob | None = None


def _deployment(k: int = 1, at=None) -> int:
    action = DeviceAction(DeployAction.AT, at) if at else DEPLOY_NOW
    return approve_and_configure(k, DEVICE, action, T0)


class Stopwatch:
    """An engine's own monotonic clock, moved by hand (seconds)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds

    def wait(self, delta: timedelta) -> None:
        self.seconds += delta.total_seconds()


def _watch(clock: Stopwatch, watch: Watch, delta: timedelta) -> None:
    """`delta` passes while the watcher steps as an engine does, looking every half second
    (and taking nothing over); the caller looks at its end. A watcher counts only the time it
    watched: a single jump of `stale_after` between two looks would be a stalled watcher."""
    step = timedelta(seconds=0.5)
    while delta > step:
        clock.wait(step)
        assert scheduling.requeue_interrupted(NOW, watch) == []
        delta -= step
    clock.wait(delta)


def _take_over(engine: str, at, number: int = 3) -> list[int]:
    """`engine` starts at `at`, looks at the others' heartbeats (it takes nothing over the
    first time: it has watched for no time yet), watches them stand still for `stale_after`
    on its own clock, and takes over what they ran."""
    clock = Stopwatch()
    watch = Watch(engine, STALE_AFTER, clock)
    scheduling.heartbeat(engine, f"host-{engine}", number, at)
    assert scheduling.requeue_interrupted(at, watch) == []
    _watch(clock, watch, STALE_AFTER)
    return scheduling.requeue_interrupted(at, watch)


def _claimed(deployment_id: int) -> DeploymentJob:
    scheduling.heartbeat(A, "host-a", 1, CLAIMED)
    [job] = scheduling.claim(A, CLAIMED, 10)
    assert job.id == deployment_id
    return job


def _fail(job: DeploymentJob, *, transient: bool) -> None:
    error = f"{DEVICE} unreachable" if transient else f"{DEVICE} rejected the configuration"
    attempts.fail(
        job, ENDED, error, transient=transient, max_attempts=3, backoff=BACKOFF, events=[]
    )


def scheduled() -> Subject:
    return Subject(_deployment(at=AT))


def scheduled_again() -> Subject:
    d = _deployment()
    job = _claimed(d)
    _fail(job, transient=False)
    assert actions.reschedule([d], AT, ENDED) == [d]
    return Subject(d, job)


def queued() -> Subject:
    return Subject(_deployment())


def queued_again() -> Subject:
    d = _deployment()
    job = _claimed(d)
    assert attempts.interrupt(job, ENDED, [], HOW)
    return Subject(d, job)


def superseded() -> Subject:
    d = _deployment(1)
    _deployment(2)  # run 2's deployment replaces run 1's, which waited
    assert row(d)["state"] == "cancelled"
    return Subject(d)


def running_later_waits() -> Subject:
    subject = running()
    _deployment(2)  # waits until the device is free
    return subject


def queued_device_busy() -> Subject:
    _claimed(_deployment(1))
    return Subject(_deployment(2))


def running() -> Subject:
    d = _deployment()
    return Subject(d, _claimed(d))


def running_cancel_requested() -> Subject:
    subject = running()
    assert actions.cancel([subject.id], ENDED) == ([], [subject.id])
    return subject


def stopping() -> Subject:
    """Cancelled while running, but the device did not confirm it stopped: it waits to ask
    again."""
    subject = running_cancel_requested()
    why = f"{DEVICE} could not be asked to stop: unreachable"
    assert attempts.cancel_unconfirmed(subject.job, ENDED, why, BACKOFF, []) == "retrying"
    return subject


def stopping_queued() -> Subject:
    """Cancelled while running under engine-a, which died before the device confirmed."""
    subject = running_cancel_requested()
    assert _take_over(C, ENDED) == [subject.id]
    return subject


def stopping_running() -> Subject:
    """engine-a claimed it again: its attempt asks the device to stop."""
    subject = stopping_queued()
    job = _claimed(subject.id)
    assert job.cancelling
    return Subject(subject.id, job)


def running_under_b() -> Subject:
    """engine-a went silent; engine-b took its deployment over and runs it."""
    d = _deployment()
    job = _claimed(d)
    assert _take_over(B, ENDED, 2) == [d]
    [taken] = scheduling.claim(B, ENDED, 10)
    assert (taken.id, taken.instance, taken.attempt) == (d, B, 1)
    return Subject(d, job)


def retrying() -> Subject:
    subject = running()
    _fail(subject.job, transient=True)
    return subject


def succeeded() -> Subject:
    subject = running()
    assert attempts.succeed(subject.job, ENDED, f"deployed to {DEVICE}", [])
    return subject


def failed() -> Subject:
    subject = running()
    _fail(subject.job, transient=False)
    return subject


def cancelled() -> Subject:
    d = _deployment()
    assert actions.cancel([d], ENDED) == ([d], [])
    return Subject(d)


def cancelled_while_running() -> Subject:
    subject = running_cancel_requested()
    assert attempts.cancelled(subject.job, ENDED, HOW, [])
    return subject


@dataclass(frozen=True)
class Start:
    name: str
    state: str
    attempts: int
    build: Callable[[], Subject]


SCHEDULED = "scheduled"
SCHEDULED_AGAIN = "scheduled again after a failed attempt"
QUEUED = "queued"
QUEUED_AGAIN = "queued again after an interrupted attempt"
SUPERSEDED_ = "superseded by a later run's waiting deployment"
RUNNING_LATER = "running while a later run's deployment waits"
QUEUED_BUSY = "queued while its device runs another"
RUNNING = "running"
RUNNING_CANCEL = "running, cancel requested"
RUNNING_B = "running under engine-b after a takeover"
STOPPING = "retrying to ask its device to stop"
STOPPING_QUEUED = "queued to ask its device to stop"
STOPPING_RUNNING = "running, asking its device to stop"
RETRYING = "retrying"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED_ = "cancelled"
CANCELLED_RUNNING = "cancelled while running"

STARTS = {
    s.name: s
    for s in (
        Start(SCHEDULED, "scheduled", 0, scheduled),
        Start(SCHEDULED_AGAIN, "scheduled", 1, scheduled_again),
        Start(QUEUED, "queued", 0, queued),
        Start(QUEUED_AGAIN, "queued", 0, queued_again),
        Start(SUPERSEDED_, "cancelled", 0, superseded),
        Start(RUNNING_LATER, "running", 1, running_later_waits),
        Start(QUEUED_BUSY, "queued", 0, queued_device_busy),
        Start(RUNNING, "running", 1, running),
        Start(RUNNING_CANCEL, "running", 1, running_cancel_requested),
        Start(RUNNING_B, "running", 1, running_under_b),
        Start(STOPPING, "retrying", 0, stopping),
        Start(STOPPING_QUEUED, "queued", 0, stopping_queued),
        Start(STOPPING_RUNNING, "running", 1, stopping_running),
        Start(RETRYING, "retrying", 1, retrying),
        Start(SUCCEEDED, "succeeded", 1, succeeded),
        Start(FAILED, "failed", 1, failed),
        Start(CANCELLED_, "cancelled", 0, cancelled),
        Start(CANCELLED_RUNNING, "cancelled", 1, cancelled_while_running),
    )
}


# -- actions -----------------------------------------------------------------------------------


def _claim(s: Subject) -> None:
    scheduling.heartbeat(B, "host-b", 2, NOW)
    scheduling.claim(B, NOW, 10)


def _promote(at) -> Callable[[Subject], Any]:
    return lambda s: scheduling.promote_due(at)


def _requeue(s: Subject) -> None:
    _take_over(C, NOW)


def _requeue_holder_alive(s: Subject) -> None:
    """engine-c watches for `stale_after`; engine-a and engine-b beat once meanwhile."""
    clock = Stopwatch()
    watch = Watch(C, STALE_AFTER, clock)
    scheduling.heartbeat(C, "host", 3, NOW)
    scheduling.requeue_interrupted(NOW, watch)
    _watch(clock, watch, STALE_AFTER - timedelta(seconds=1))
    for number, engine in enumerate((A, B)):
        scheduling.heartbeat(engine, "host", number, NOW)
    clock.wait(timedelta(seconds=1))
    scheduling.requeue_interrupted(NOW, watch)


def _fail_with(transient: bool, last: bool) -> Callable[[Subject], Any]:
    def report(s: Subject) -> Any:
        error = f"{DEVICE} unreachable" if transient else f"{DEVICE} rejected the configuration"
        max_attempts = s.job.attempt if last else 3
        return attempts.fail(
            s.job,
            NOW,
            error,
            transient=transient,
            max_attempts=max_attempts,
            backoff=BACKOFF,
            events=[],
        )

    return report


def _progress(s: Subject) -> attempts.Reported:
    report = attempts.ProgressReport(s.job, "installing", 60, [Event.info(NOW, "installing core")])
    [answer] = attempts.report_progress([report], NOW)
    return answer


CLAIM = "claim by engine-b"
PROMOTE = "promote due at 10:00"
PROMOTE_EARLY = "promote due at 09:59:59"
PROMOTE_LATE = "promote due at 10:02"
PROMOTE_RETRY_EARLY = "promote due at 09:02:29"
PROMOTE_RETRY = "promote due at 09:02:30"
REQUEUE = "requeue by engine-c (engine-a, engine-b silent)"
REQUEUE_ALIVE = "requeue by engine-c (all engines alive)"
SUCCEED = "engine-a reports success"
FAIL_LEFT = "engine-a reports a transient failure, attempts left"
FAIL_LAST = "engine-a reports a transient failure on the last attempt"
FAIL_PERMANENT = "engine-a reports a permanent failure"
CANCELLED = "engine-a reports cancelled"
INTERRUPT = "engine-a reports interrupted (App Updater quits)"
UNCONFIRMED = "engine-a reports the device did not confirm it stopped"
INTERRUPT_UNCONFIRMED = "engine-a reports interrupted, the device did not confirm it stopped"
PROGRESS = "engine-a reports progress"
CANCEL = "admin cancel"
RETRY = "retry"
DEPLOY_NOW_ = "deploy now"
RESCHEDULE = "reschedule to 12:00"

ACTIONS: dict[str, Callable[[Subject], Any]] = {
    CLAIM: _claim,
    PROMOTE: _promote(AT),
    PROMOTE_EARLY: _promote(AT - timedelta(seconds=1)),
    PROMOTE_LATE: _promote(AT + timedelta(minutes=2)),
    PROMOTE_RETRY_EARLY: _promote(RETRY_AT - timedelta(seconds=1)),
    PROMOTE_RETRY: _promote(RETRY_AT),
    REQUEUE: _requeue,
    REQUEUE_ALIVE: _requeue_holder_alive,
    SUCCEED: lambda s: attempts.succeed(s.job, NOW, DEPLOYED, []),
    FAIL_LEFT: _fail_with(transient=True, last=False),
    FAIL_LAST: _fail_with(transient=True, last=True),
    FAIL_PERMANENT: _fail_with(transient=False, last=False),
    CANCELLED: lambda s: attempts.cancelled(s.job, NOW, HOW, []),
    INTERRUPT: lambda s: attempts.interrupt(s.job, NOW, [], HOW),
    UNCONFIRMED: lambda s: attempts.cancel_unconfirmed(s.job, NOW, UNREACHABLE, BACKOFF, []),
    INTERRUPT_UNCONFIRMED: lambda s: attempts.interrupt(s.job, NOW, [], None),
    PROGRESS: _progress,
    CANCEL: lambda s: actions.cancel([s.id], NOW),
    RETRY: lambda s: actions.retry([s.id], NOW),
    DEPLOY_NOW_: lambda s: actions.deploy_now([s.id], NOW),
    RESCHEDULE: lambda s: actions.reschedule([s.id], LATER, NOW),
}
END_REPORTS = (
    SUCCEED,
    FAIL_LEFT,
    FAIL_LAST,
    FAIL_PERMANENT,
    CANCELLED,
    INTERRUPT,
    UNCONFIRMED,
    INTERRUPT_UNCONFIRMED,
)
REPORTS = (*END_REPORTS, PROGRESS)
ADMIN = (CANCEL, RETRY, DEPLOY_NOW_, RESCHEDULE)

# -- the table ---------------------------------------------------------------------------------

UNCHANGED = None


@dataclass(frozen=True)
class To:
    """The expected outcome: state, attempts, the events written, and columns to check."""

    state: str
    attempts: int
    events: tuple[str, ...]
    columns: dict[str, Any] = field(default_factory=dict)


def to(state: str, attempts: int, event: str, **columns: Any) -> To:
    return To(state, attempts, (event,), columns)


@dataclass(frozen=True)
class Case:
    start: str
    action: str
    outcome: To | None

    @property
    def id(self) -> str:
        result = "unchanged" if self.outcome is None else self.outcome.state
        return f"{self.start} x {self.action} -> {result}"


def unchanged(start: str, *names: str) -> list[Case]:
    return [Case(start, name, UNCHANGED) for name in names]


def rejected(start: str) -> list[Case]:
    """Every report of engine-a's job, for a deployment no longer running under its claim."""
    return [Case(start, name, UNCHANGED) for name in REPORTS]


BY_ADMIN = "cancelled by the administrator"
CANCEL_REQUESTED = "cancel requested; asking the device to stop"
RESCHEDULED = "rescheduled for 2026-11-27 12:00 UTC"
RETRY_REQUESTED = "retry requested; queued"
DEPLOY_NOW_REQUESTED = "deploy now requested; queued"
STARTED = f"attempt 1 started on {DEVICE}"
DEPLOYED = f"deployed to {DEVICE}"
REJECTED = f"{DEVICE} rejected the configuration"
STOPPED = "cancelled while running; the device was told to stop"
TAKEN_OVER_STOPPING = (
    "cancel requested, but the engine running it stopped (crash, power loss or kill) before "
    "the device confirmed it stopped; asking the device to stop"
)
UNREACHABLE = f"{DEVICE} could not be asked to stop: unreachable"
ASKING_AGAIN = f"cancel requested, but {UNREACHABLE}; it may still finish: asking again in 30 s"
QUIT_UNCONFIRMED = (
    "interrupted: App Updater quit before the device confirmed it stopped; the next start "
    "takes it up again"
)
STOPPING_STARTED = f"asking {DEVICE} to stop the deployment (cancel requested; try 1 of 8)"
TAKEN_OVER = "interrupted: the engine running it stopped (crash, power loss or kill); queued again"
SUPERSEDED = "superseded by run #2: its deployment pushes this device's whole configuration"
GIVEN_BACK = {"claimed_by": None, "phase": None, "progress": 0}
ENDED_NOW = {"finished_at": NOW, "phase": None, "cancel_requested": False}

# One row per line; `to(state, attempts, event, **columns)`.
# fmt: off
TABLE = [
    # scheduled: waits for 10:00
    *unchanged(SCHEDULED, CLAIM, PROMOTE_EARLY, REQUEUE, RETRY),
    Case(SCHEDULED, PROMOTE, to("queued", 0, "scheduled time reached; queued")),
    Case(SCHEDULED, PROMOTE_LATE, to("queued", 0, "scheduled time reached; started late by 2 min (App Updater was not running at the scheduled time)")),
    Case(SCHEDULED, CANCEL, to("cancelled", 0, BY_ADMIN, finished_at=NOW)),
    Case(SCHEDULED, DEPLOY_NOW_, to("queued", 0, DEPLOY_NOW_REQUESTED)),
    Case(SCHEDULED, RESCHEDULE, to("scheduled", 0, RESCHEDULED, scheduled_at=LATER)),
    # scheduled again after engine-a's attempt failed: engine-a's reports change nothing
    *unchanged(SCHEDULED_AGAIN, CLAIM, PROMOTE_EARLY),
    Case(SCHEDULED_AGAIN, PROMOTE, to("queued", 1, "scheduled time reached; queued")),
    *rejected(SCHEDULED_AGAIN),
    # queued: waits for a worker and for its device
    *unchanged(QUEUED, PROMOTE, REQUEUE, RETRY, DEPLOY_NOW_),
    Case(QUEUED, CLAIM, to("running", 1, STARTED, claimed_by=B, started_at=NOW, phase="connecting")),
    Case(QUEUED, CANCEL, to("cancelled", 0, BY_ADMIN, finished_at=NOW)),
    Case(QUEUED, RESCHEDULE, to("scheduled", 0, RESCHEDULED, scheduled_at=LATER)),
    # queued again after engine-a's attempt was interrupted: that attempt did not count
    Case(QUEUED_AGAIN, CLAIM, to("running", 1, STARTED, claimed_by=B)),
    *rejected(QUEUED_AGAIN),
    # one waiting deployment per device: a later run's supersedes it, and it does not wait
    # again while that one waits (its retry, reschedule change nothing)
    *unchanged(SUPERSEDED_, CLAIM, RETRY, RESCHEDULE, CANCEL, DEPLOY_NOW_),
    Case(RUNNING_LATER, FAIL_LEFT, to("cancelled", 1, f"{DEVICE} unreachable; not retried; {SUPERSEDED}", **ENDED_NOW)),
    Case(RUNNING_LATER, INTERRUPT, to("cancelled", 1, f"interrupted: App Updater quit; not queued again; {SUPERSEDED}", **ENDED_NOW)),
    Case(RUNNING_LATER, REQUEUE, to("cancelled", 1, f"interrupted: the engine running it stopped (crash, power loss or kill); not queued again; {SUPERSEDED}", finished_at=NOW, phase=None)),
    Case(RUNNING_LATER, SUCCEED, to("succeeded", 1, DEPLOYED, progress=100, **ENDED_NOW)),
    *unchanged(QUEUED_BUSY, CLAIM, PROMOTE),
    # running under engine-a, silent since 09:01
    *unchanged(RUNNING, CLAIM, PROMOTE, REQUEUE_ALIVE, RETRY, DEPLOY_NOW_, RESCHEDULE),
    Case(RUNNING, REQUEUE, to("queued", 0, TAKEN_OVER, **GIVEN_BACK)),
    Case(RUNNING, SUCCEED, to("succeeded", 1, DEPLOYED, progress=100, **ENDED_NOW)),
    Case(RUNNING, FAIL_LEFT, to("retrying", 1, "press-01 unreachable; retrying in 30 s (attempt 2 of 3)", next_attempt_at=NOW + BACKOFF, claimed_by=None, finished_at=None)),
    Case(RUNNING, FAIL_LAST, to("failed", 1, "press-01 unreachable (gave up after 1 attempt)", **ENDED_NOW)),
    Case(RUNNING, FAIL_PERMANENT, to("failed", 1, REJECTED, **ENDED_NOW)),
    Case(RUNNING, CANCELLED, to("cancelled", 1, STOPPED, **ENDED_NOW)),
    Case(RUNNING, INTERRUPT, to("queued", 0, "interrupted: App Updater quit; it resumes at the next start", **GIVEN_BACK)),
    Case(RUNNING, PROGRESS, to("running", 1, "installing core", phase="installing", progress=60)),
    Case(RUNNING, CANCEL, to("running", 1, CANCEL_REQUESTED, cancel_requested=True)),
    Case(RUNNING, INTERRUPT_UNCONFIRMED, to("queued", 0, QUIT_UNCONFIRMED, cancel_requested=False, **GIVEN_BACK)),
    # running with the administrator's cancel pending: an attempt that ends without finishing
    # ends the deployment cancelled once the device confirmed it stopped; unconfirmed (the
    # device may still finish it), the deployment waits to ask it again
    Case(RUNNING_CANCEL, REQUEUE, to("queued", 0, TAKEN_OVER_STOPPING, cancel_requested=True, **GIVEN_BACK)),
    Case(RUNNING_CANCEL, INTERRUPT, to("cancelled", 1, STOPPED, **ENDED_NOW)),
    Case(RUNNING_CANCEL, UNCONFIRMED, to("retrying", 0, ASKING_AGAIN, cancel_requested=True, next_attempt_at=NOW + BACKOFF, claimed_by=None, finished_at=None)),
    Case(RUNNING_CANCEL, INTERRUPT_UNCONFIRMED, to("queued", 0, QUIT_UNCONFIRMED, cancel_requested=True, **GIVEN_BACK)),
    Case(RUNNING_CANCEL, FAIL_LEFT, to("cancelled", 1, "press-01 unreachable; cancelled while running, so not retried", **ENDED_NOW)),
    Case(RUNNING_CANCEL, FAIL_LAST, to("failed", 1, "press-01 unreachable (gave up after 1 attempt)", **ENDED_NOW)),
    Case(RUNNING_CANCEL, CANCELLED, to("cancelled", 1, STOPPED, **ENDED_NOW)),
    Case(RUNNING_CANCEL, SUCCEED, to("succeeded", 1, DEPLOYED, **ENDED_NOW)),
    Case(RUNNING_CANCEL, FAIL_PERMANENT, to("failed", 1, REJECTED, **ENDED_NOW)),
    Case(RUNNING_CANCEL, CANCEL, to("running", 1, CANCEL_REQUESTED, cancel_requested=True)),
    *unchanged(RUNNING_CANCEL, RETRY, RESCHEDULE),
    # running under engine-b: engine-a's late reports change nothing
    *unchanged(RUNNING_B, CLAIM, REQUEUE_ALIVE, RETRY, DEPLOY_NOW_),
    *rejected(RUNNING_B),
    Case(RUNNING_B, CANCEL, to("running", 1, CANCEL_REQUESTED, claimed_by=B, cancel_requested=True)),
    # waiting to ask its device again to stop: no administrator's action but deploy now (ask
    # now) changes it, and a paused or aborted run does not hold it
    *unchanged(STOPPING, CLAIM, PROMOTE_RETRY_EARLY, REQUEUE, RETRY, RESCHEDULE),
    Case(STOPPING, PROMOTE_RETRY, to("queued", 0, "next attempt is due; queued", cancel_requested=True, next_attempt_at=None)),
    Case(STOPPING, DEPLOY_NOW_, to("queued", 0, DEPLOY_NOW_REQUESTED, cancel_requested=True)),
    *rejected(STOPPING),
    *unchanged(STOPPING_QUEUED, PROMOTE, REQUEUE, RETRY, DEPLOY_NOW_, RESCHEDULE),
    Case(STOPPING_QUEUED, CLAIM, to("running", 1, STOPPING_STARTED, claimed_by=B, cancel_requested=True)),
    *rejected(STOPPING_QUEUED),
    Case(STOPPING_RUNNING, CANCELLED, to("cancelled", 1, STOPPED, **ENDED_NOW)),
    Case(STOPPING_RUNNING, SUCCEED, to("succeeded", 1, DEPLOYED, **ENDED_NOW)),
    Case(STOPPING_RUNNING, UNCONFIRMED, to("retrying", 1, ASKING_AGAIN, cancel_requested=True, next_attempt_at=NOW + BACKOFF)),
    Case(STOPPING_RUNNING, INTERRUPT_UNCONFIRMED, to("queued", 0, QUIT_UNCONFIRMED, cancel_requested=True, **GIVEN_BACK)),
    Case(STOPPING_RUNNING, REQUEUE, to("queued", 0, TAKEN_OVER_STOPPING, cancel_requested=True, **GIVEN_BACK)),
    # retrying: the next attempt is due at 09:02:30
    *unchanged(RETRYING, CLAIM, PROMOTE_RETRY_EARLY, REQUEUE, RETRY),
    Case(RETRYING, PROMOTE_RETRY, to("queued", 1, "next attempt is due; queued", next_attempt_at=None)),
    *rejected(RETRYING),
    Case(RETRYING, CANCEL, to("cancelled", 1, BY_ADMIN, finished_at=NOW, next_attempt_at=None)),
    Case(RETRYING, DEPLOY_NOW_, to("queued", 1, DEPLOY_NOW_REQUESTED, next_attempt_at=None)),
    Case(RETRYING, RESCHEDULE, to("scheduled", 1, RESCHEDULED, scheduled_at=LATER, next_attempt_at=None)),
    # succeeded is final: nothing moves it
    *unchanged(SUCCEEDED, CLAIM, PROMOTE, REQUEUE, *ADMIN),
    *rejected(SUCCEEDED),
    # failed: only the administrator's retry or reschedule move it
    *unchanged(FAILED, CLAIM, PROMOTE, REQUEUE, CANCEL, DEPLOY_NOW_),
    *rejected(FAILED),
    Case(FAILED, RETRY, to("queued", 0, RETRY_REQUESTED, finished_at=None, last_message="")),
    Case(FAILED, RESCHEDULE, to("scheduled", 1, RESCHEDULED, scheduled_at=LATER, finished_at=None)),
    # cancelled: only the administrator's retry or reschedule move it
    *unchanged(CANCELLED_, CLAIM, PROMOTE, REQUEUE, CANCEL, DEPLOY_NOW_),
    Case(CANCELLED_, RETRY, to("queued", 0, RETRY_REQUESTED, finished_at=None)),
    Case(CANCELLED_, RESCHEDULE, to("scheduled", 0, RESCHEDULED, scheduled_at=LATER, finished_at=None)),
    *unchanged(CANCELLED_RUNNING, CLAIM, CANCEL, DEPLOY_NOW_),
    *rejected(CANCELLED_RUNNING),
    Case(CANCELLED_RUNNING, RETRY, to("queued", 0, RETRY_REQUESTED, cancel_requested=False)),
    Case(CANCELLED_RUNNING, RESCHEDULE, to("scheduled", 1, RESCHEDULED, scheduled_at=LATER)),
]
# fmt: on


CASES = [pytest.param(case, id=case.id) for case in TABLE]


# What an action returns, read as "I changed it" (fail() returns a state; claim, promote and
# requeue return what they changed of all deployments).
SAYS_CHANGED: dict[str, Callable[[Any], bool]] = {
    SUCCEED: bool,
    CANCELLED: bool,
    INTERRUPT: bool,
    UNCONFIRMED: bool,
    INTERRUPT_UNCONFIRMED: bool,
    CANCEL: lambda result: bool(result[0] or result[1]),
    RETRY: bool,
    DEPLOY_NOW_: bool,
    RESCHEDULE: bool,
}


def _act(case: Case) -> tuple[Subject, dict[str, Any], int, Any]:
    start = STARTS[case.start]
    subject = start.build()
    before = row(subject.id)
    assert (before["state"], before["attempts"]) == (start.state, start.attempts)
    seen = last_event_id()
    result = ACTIONS[case.action](subject)
    return subject, before, seen, result


def test_the_table_has_no_duplicates_and_uses_every_start_and_action():
    """Every (start, action) pair appears once; every start and every action is exercised."""
    pairs = [(c.start, c.action) for c in TABLE]
    assert len(pairs) == len(set(pairs))
    assert {c.start for c in TABLE} == set(STARTS)
    assert {c.action for c in TABLE} == set(ACTIONS)
    states = ("scheduled", "queued", "running", "retrying", "succeeded", "failed", "cancelled")
    assert {c.outcome.state for c in TABLE if c.outcome} == set(states)
    assert {start.state for start in STARTS.values()} == set(states)


@pytest.mark.parametrize("case", CASES)
def test_state_after_action(fleet, case):
    """The action leaves the deployment in the state, attempts and columns the table says, or
    leaves its row exactly as it was; what it returns agrees."""
    subject, before, _, result = _act(case)
    if case.action in SAYS_CHANGED:
        assert SAYS_CHANGED[case.action](result) == (case.outcome is not UNCHANGED)
    after = row(subject.id)
    if case.outcome is UNCHANGED:
        assert after == before
        return
    expected = case.outcome
    assert (after["state"], after["attempts"]) == (expected.state, expected.attempts)
    assert after["revision"] > before["revision"]
    assert {k: after[k] for k in expected.columns} == expected.columns


@pytest.mark.parametrize("case", CASES)
def test_events_after_action(fleet, case):
    """The action writes exactly the table's events for the deployment (none when nothing
    changed), and none for any other deployment."""
    subject, _, seen, _ = _act(case)
    written = events_since(seen)
    assert [m for _, d, m in written if d == subject.id] == list(
        case.outcome.events if case.outcome else ()
    )
    if case.action in (*REPORTS, *ADMIN):
        assert {d for _, d, _ in written} <= {subject.id}


# -- cases the table cannot hold ---------------------------------------------------------------


def test_a_later_runs_deployment_supersedes_a_waiting_one(fleet):
    """Run 2's deployment of the device cancels run 1's waiting one in the transaction that
    creates it, both logs say so, and only run 2's is claimed."""
    older = _deployment(1)
    younger = _deployment(2)
    assert row(older)["state"] == "cancelled" and row(older)["finished_at"] == T0
    assert row(older)["revision"] == row(younger)["revision"]  # one transaction
    assert row(older)["last_message"] == SUPERSEDED
    logged = [(d, m) for _, d, m in events_since(0)]
    assert (older, SUPERSEDED) in logged
    assert (
        younger,
        "configuration updated; deployment created, queued to deploy now; "
        "it replaces the waiting deployment of run #1",
    ) in logged
    scheduling.heartbeat(B, "host-b", 2, NOW)
    assert [j.id for j in scheduling.claim(B, NOW, 10)] == [younger]


def test_reschedule_to_the_past_is_refused_and_changes_nothing(fleet):
    """A time at or before now raises RunError, and writes no row and no event."""
    d = _deployment(at=AT)
    before, seen = row(d), last_event_id()
    for when in (NOW, NOW - timedelta(minutes=1)):
        with pytest.raises(RunError, match="is in the past"):
            actions.reschedule([d], when, NOW)
    assert row(d) == before and events_since(seen) == []


def test_requeue_needs_the_full_silence(fleet):
    """A holder whose beat stood still for exactly `stale_after` on the watcher's clock is
    dead; a moment less, alive."""
    d = _deployment()
    _claimed(d)
    clock = Stopwatch()
    watch = Watch(C, STALE_AFTER, clock)
    scheduling.heartbeat(C, "host-c", 3, NOW)
    assert scheduling.requeue_interrupted(NOW, watch) == []
    _watch(clock, watch, STALE_AFTER - timedelta(microseconds=1))
    assert scheduling.requeue_interrupted(NOW, watch) == []
    clock.wait(timedelta(microseconds=1))
    assert scheduling.requeue_interrupted(NOW, watch) == [d]


def test_the_times_heartbeats_write_are_never_compared(fleet):
    """engine-a's heartbeats say 2016 and then 2036 (its clock is wrong, twice): engine-c
    judges it only by its beat moving, timed on engine-c's own clock. A watcher that just
    started takes nothing over, however old the heartbeat it reads."""
    d = _deployment()
    _claimed(d)
    clock = Stopwatch()
    watch = Watch(C, STALE_AFTER, clock)
    scheduling.heartbeat(A, "host-a", 1, NOW - timedelta(days=3650))
    assert scheduling.requeue_interrupted(NOW, watch) == []
    _watch(clock, watch, STALE_AFTER - timedelta(seconds=1))
    scheduling.heartbeat(A, "host-a", 1, NOW + timedelta(days=3650))
    clock.wait(timedelta(seconds=1))
    assert scheduling.requeue_interrupted(NOW, watch) == []  # it moved: timed afresh from here
    _watch(clock, watch, STALE_AFTER - timedelta(seconds=1))
    assert scheduling.requeue_interrupted(NOW, watch) == []
    assert row(d)["state"] == "running"
    clock.wait(timedelta(seconds=1))
    assert scheduling.requeue_interrupted(NOW, watch) == [d]


def test_an_engine_judged_dead_is_watched_afresh_when_it_claims_again(fleet):
    """engine-a, taken over (its row removed), claims again before its next heartbeat: its
    missing row is timed like a beat that stands still, and its heartbeat starts it afresh."""
    d = _deployment()
    _claimed(d)
    clock = Stopwatch()
    watch = Watch(C, STALE_AFTER, clock)
    scheduling.heartbeat(C, "host-c", 3, NOW)
    scheduling.requeue_interrupted(NOW, watch)
    _watch(clock, watch, STALE_AFTER)
    assert scheduling.requeue_interrupted(NOW, watch) == [d]
    assert [job.id for job in scheduling.claim(A, NOW, 10)] == [d]  # before it beats again
    assert scheduling.requeue_interrupted(NOW, watch) == []
    _watch(clock, watch, STALE_AFTER - timedelta(seconds=1))
    scheduling.heartbeat(A, "host-a", 1, NOW)  # its row is back, at a new beat
    clock.wait(timedelta(seconds=1))
    assert scheduling.requeue_interrupted(NOW, watch) == []
    _watch(clock, watch, STALE_AFTER - timedelta(seconds=1))
    assert scheduling.requeue_interrupted(NOW, watch) == []
    assert row(d)["state"] == "running"
    clock.wait(timedelta(seconds=1))
    assert scheduling.requeue_interrupted(NOW, watch) == [d]


def test_an_engine_never_takes_over_its_own_deployments(fleet):
    """engine-a, however long silent, does not requeue what it runs itself."""
    d = _deployment()
    _claimed(d)
    clock = Stopwatch()
    watch = Watch(A, STALE_AFTER, clock)
    assert scheduling.requeue_interrupted(NOW, watch) == []
    clock.wait(STALE_AFTER * 100)
    assert scheduling.requeue_interrupted(NOW, watch) == []
    assert row(d)["state"] == "running"


def test_a_taken_over_attempt_cannot_end_the_same_engines_next_attempt(fleet):
    """engine-a's first attempt, taken back by engine-c (engine-a was suspended for longer
    than `stale_after`), cannot end the attempt engine-a claims afterwards: every claim gets a
    new claim number, and an attempt writes only under its own."""
    d = _deployment()
    old = _claimed(d)
    assert _take_over(C, NOW) == [d]
    scheduling.heartbeat(A, "host-a", 1, NOW)  # engine-a wakes up and claims again
    [new] = scheduling.claim(A, NOW, 10)
    assert (new.id, new.instance, new.attempt) == (old.id, old.instance, old.attempt)
    assert new.claim != old.claim
    seen = last_event_id()
    assert not attempts.succeed(old, NOW, "the old worker's late report", [])
    report = attempts.ProgressReport(old, "installing", 50, [])
    assert attempts.report_progress([report], NOW) == [attempts.Reported.CLAIM_LOST]
    assert row(d)["state"] == "running" and events_since(seen) == []
    assert attempts.succeed(new, NOW, "deployed", []) == "succeeded"


def _requeued_by_takeover(job: DeploymentJob) -> None:
    assert _take_over(C, NOW) == [job.id]


def _interrupted_by_quit(job: DeploymentJob) -> None:
    assert attempts.interrupt(job, NOW, [], HOW) == "cancelled"


def _failed_transiently(job: DeploymentJob) -> None:
    ended = attempts.fail(
        job, NOW, "unreachable", transient=True, max_attempts=3, backoff=BACKOFF, events=[]
    )
    assert ended == "cancelled"
    assert scheduling.promote_due(NOW + BACKOFF) == []  # no retry is waiting


@pytest.mark.parametrize(
    "attempt_ends",
    [
        pytest.param(_requeued_by_takeover, id="taken over after its engine died"),
        pytest.param(_interrupted_by_quit, id="interrupted by a quit"),
        pytest.param(_failed_transiently, id="transient failure"),
    ],
)
def test_a_cancel_request_survives_the_end_of_the_attempt(fleet, attempt_ends):
    """A running deployment the administrator cancelled never starts another attempt that
    deploys: it ends cancelled, or — when nobody knows whether the device stopped (its engine
    died) — its next attempt only asks the device to stop."""
    subject = running_cancel_requested()
    attempt_ends(subject.job)
    scheduling.heartbeat(B, "host-b", 2, NOW + BACKOFF)
    taken = scheduling.claim(B, NOW + BACKOFF, 10)
    if attempt_ends is _requeued_by_takeover:
        assert [(job.id, job.cancelling) for job in taken] == [(subject.id, True)]
    else:
        assert taken == []
        assert row(subject.id)["state"] == "cancelled"


def test_asking_a_device_to_stop_is_not_held_by_a_paused_or_aborted_run(fleet):
    """A run paused or aborted starts nothing — but the attempt that asks a device to stop
    what it was cancelled in is a brake, not a start: it is claimed all the same."""
    subject = stopping_queued()
    run_id = row(subject.id)["run"]
    UpdateRun.update(paused_at=NOW, paused_by="ops", aborted_at=NOW, aborted_by="ops").where(
        UpdateRun.id == run_id
    ).execute()
    scheduling.heartbeat(B, "host-b", 2, NOW)
    [job] = scheduling.claim(B, NOW, 10)
    assert (job.id, job.cancelling) == (subject.id, True)


def test_the_administrators_actions_leave_a_stop_in_progress_alone(fleet):
    """Cancel counts a deployment waiting to ask its device to stop as asked (it stays so),
    reschedule does not put the stop off, and aborting its run or a later run's deployment
    for the device does not cancel it in the record: only the device's answer ends it."""
    subject = stopping()
    assert actions.cancel([subject.id], NOW) == ([], [subject.id])
    assert row(subject.id)["state"] == "retrying" and row(subject.id)["cancel_requested"]
    assert actions.reschedule([subject.id], LATER, NOW) == []
    assert row(subject.id)["state"] == "retrying"
    run_id = row(subject.id)["run"]
    run_decisions.abort(run_id, "ops", NOW)
    assert row(subject.id)["state"] == "retrying"
    later = _deployment(2)
    assert row(subject.id)["state"] == "retrying" and row(later)["state"] == "queued"


def test_a_device_that_never_confirms_the_stop_ends_failed_not_cancelled(fleet):
    """After `CANCEL_TRIES` tries the deployment ends failed, saying the device may have
    finished the update: never cancelled, which the device did not say."""
    subject = stopping_running()
    job = subject.job
    assert job is not None
    for _ in range(attempts.CANCEL_TRIES - 1):
        assert attempts.cancel_unconfirmed(job, NOW, UNREACHABLE, BACKOFF, []) == "retrying"
        assert actions.deploy_now([subject.id], NOW) == [subject.id]
        scheduling.heartbeat(A, "host-a", 1, NOW)
        [job] = scheduling.claim(A, NOW, 10)
        assert job.cancelling
    assert job.attempt == attempts.CANCEL_TRIES
    assert attempts.cancel_unconfirmed(job, NOW, UNREACHABLE, BACKOFF, []) == "failed"
    message = row(subject.id)["last_message"]
    assert "never confirmed it stopped" in message and "may have finished" in message


def test_an_outage_of_every_engine_takes_nothing_over(fleet):
    """Both engines beat every 0.5 s; then the database is unreachable for 20 s (a PostgreSQL
    restart, SQLite held by a long import): nobody beats, nobody looks. engine-c, stepping
    first afterwards, did not watch those 20 s: engine-a, alive, keeps its deployment and
    beats again in time."""
    d = _deployment()
    _claimed(d)
    clock = Stopwatch()
    watch = Watch(C, STALE_AFTER, clock)
    for _ in range(10):
        scheduling.heartbeat(A, "host-a", 1, NOW)
        scheduling.heartbeat(C, "host-c", 3, NOW)
        assert scheduling.requeue_interrupted(NOW, watch) == []
        clock.wait(timedelta(seconds=0.5))
    clock.wait(timedelta(seconds=20))  # the outage: no step of anyone succeeds
    scheduling.heartbeat(C, "host-c", 3, NOW)  # engine-c happens to step first afterwards
    assert scheduling.requeue_interrupted(NOW, watch) == []
    clock.wait(timedelta(seconds=0.5))
    assert scheduling.requeue_interrupted(NOW, watch) == []
    scheduling.heartbeat(A, "host-a", 1, NOW)  # engine-a's first step after the outage
    _watch(clock, watch, STALE_AFTER - timedelta(seconds=1))
    assert row(d)["state"] == "running"


def test_a_watcher_step_longer_than_stale_after_takes_nothing_over(fleet):
    """engine-c's own step stalls for 40 s between two looks (a slow disk): that pause counts
    for a quarter of `stale_after` only, so engine-a, whose beat stood still across it,
    stays alive if it beats again in the next few seconds."""
    d = _deployment()
    _claimed(d)
    clock = Stopwatch()
    watch = Watch(C, STALE_AFTER, clock)
    scheduling.heartbeat(C, "host-c", 3, NOW)
    assert scheduling.requeue_interrupted(NOW, watch) == []
    _watch(clock, watch, timedelta(seconds=5))
    assert scheduling.requeue_interrupted(NOW, watch) == []
    clock.wait(timedelta(seconds=40))  # engine-c's stalled step
    assert scheduling.requeue_interrupted(NOW, watch) == []  # watched 5 s + 3.75 s
    _watch(clock, watch, timedelta(seconds=6))
    assert scheduling.requeue_interrupted(NOW, watch) == []
    assert row(d)["state"] == "running"
    clock.wait(timedelta(seconds=0.25))  # 5 + 3.75 + 6.25: silent for stale_after
    assert scheduling.requeue_interrupted(NOW, watch) == [d]


def test_a_watcher_that_stalls_on_every_look_still_judges_a_dead_engine(fleet):
    """engine-c looks only every 60 s (every step of it stalls): each pause counts for a
    quarter of `stale_after`, so engine-a, dead, is taken over at the fourth look after the
    first, not never."""
    d = _deployment()
    _claimed(d)
    clock = Stopwatch()
    watch = Watch(C, STALE_AFTER, clock)
    scheduling.heartbeat(C, "host-c", 3, NOW)
    assert scheduling.requeue_interrupted(NOW, watch) == []
    for _ in range(3):
        clock.wait(timedelta(seconds=60))
        assert scheduling.requeue_interrupted(NOW, watch) == []
    clock.wait(timedelta(seconds=60))
    assert scheduling.requeue_interrupted(NOW, watch) == [d]


def test_claims_lost_tells_an_old_claim_from_the_same_engines_new_one(fleet):
    """engine-a, taken over, claims the deployment again while its old attempt winds down:
    of the two attempts it runs, only the old one is lost."""
    d = _deployment()
    old = _claimed(d)
    assert _take_over(C, NOW) == [d]
    scheduling.heartbeat(A, "host-a", 1, NOW)
    [new] = scheduling.claim(A, NOW, 10)
    held = [(d, old.claim), (d, new.claim)]
    assert scheduling.claims_lost(held) == [(d, old.claim)]


def test_a_watcher_counts_whole_ticks_when_stale_after_is_three_ticks(fleet):
    """With the least `stale_after` allowed, three ticks of 0.5 s, a watcher looking every
    tick counts each tick whole: a dead engine is judged after 1.5 s, not later."""
    d = _deployment()
    _claimed(d)
    clock = Stopwatch()
    tick = timedelta(seconds=0.5)
    watch = Watch(C, 3 * tick, clock, tick=tick)
    scheduling.heartbeat(C, "host-c", 3, NOW)
    assert scheduling.requeue_interrupted(NOW, watch) == []
    for _ in range(2):
        clock.wait(tick)
        assert scheduling.requeue_interrupted(NOW, watch) == []
    clock.wait(tick)
    assert scheduling.requeue_interrupted(NOW, watch) == [d]


def test_a_claim_the_engine_lost_track_of_keeps_its_cancel_request(fleet):
    """The database took a claim whose answer never came back (it went away): the engine runs
    no attempt for it. A plain one is queued again; one the administrator cancelled while it
    ran keeps the request, so its next attempt asks the device instead of recording a cancel
    nobody confirmed."""
    plain = running()
    assert attempts.requeue_untracked(A, set(), NOW) == [plain.id]
    assert (row(plain.id)["state"], row(plain.id)["cancel_requested"]) == ("queued", False)
    cancelled = running_cancel_requested()
    assert attempts.requeue_untracked(A, set(), NOW) == [cancelled.id]
    assert (row(cancelled.id)["state"], row(cancelled.id)["cancel_requested"]) == ("queued", True)
    assert row(cancelled.id)["finished_at"] is None
