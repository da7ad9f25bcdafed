"""The end of an attempt, as the worker that ran it reports it: progress on the way, then
succeeded, failed (or retrying), cancelled, or interrupted by App Updater quitting.

Each report is a conditional update on the attempt still being `running` under the claim
number it was claimed with (every claim bumps it), so a late report of an attempt that was
given up on changes nothing — not even the event log — nor the attempt claimed after it, be
it by the same engine. An administrator's cancel of a running deployment sticks: an attempt that
then ends without finishing (a transient failure, a quit) ends the deployment `cancelled`, it
is not queued to run again."""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee

from appupdater.core.events import Event, EventLevel, describe_delay, log_events, storable
from appupdater.core.jobs import DeploymentJob
from appupdater.core.pending import newer_waiting, supersede, superseded_message
from appupdater.store.bulk import is_postgres, update_rows, update_where
from appupdater.store.db import writing
from appupdater.store.fields import to_db_time
from appupdater.store.models import Deployment, DeploymentState, DeviceApp
from appupdater.store.revisions import stamped
from appupdater.store.rows import first, tuples

S = DeploymentState


class Reported(enum.Enum):
    """What a progress report learnt."""

    HELD = "held"  # the attempt goes on
    CANCEL_REQUESTED = "cancel requested"  # someone (in any process) asked to stop it
    CLAIM_LOST = "claim lost"  # another engine took it over: this attempt is not ours any more


def not_counted() -> peewee.Node:
    """attempts - 1, but not below 0 (portable: no MAX/GREATEST): for an attempt that was
    interrupted rather than tried."""
    return peewee.Case(None, [(Deployment.attempts > 0, Deployment.attempts - 1)], 0)


def _claim(job: DeploymentJob) -> dict[str, object]:
    """The columns that say `job` still holds its attempt."""
    return {"id": job.id, "state": S.RUNNING, "claim": job.claim}


def _held(job: DeploymentJob) -> list[peewee.Expression]:
    """The same, as conditions for `.where(*...)`."""
    return [getattr(Deployment, column) == value for column, value in _claim(job).items()]


@dataclass(frozen=True, slots=True)
class ProgressReport:
    """Where a running attempt is, and what it logged since its last report."""

    job: DeploymentJob
    phase: str
    percent: int
    events: Sequence[Event]


CHUNK = 1000  # deployments per statement of a progress batch (bind-parameter limits)


def report_progress(reports: Sequence[ProgressReport], now: datetime) -> list[Reported]:
    """Write phase, progress and events of many running attempts in one transaction, each only
    if its job still holds the attempt; for each report, whether it goes on, someone asked to
    cancel it, or the claim was lost (then nothing of it is written)."""
    with writing():
        # the change counter first, as every write of deployments takes it: one lock order
        # (rows locked before the counter deadlocked with a cancel on PostgreSQL)
        stamp = stamped(now)
        held: dict[tuple[int, int], bool] = {}
        for start in range(0, len(reports), CHUNK):
            ids = [r.job.id for r in reports[start : start + CHUNK]]
            query = Deployment.select(
                Deployment.id, Deployment.claim, Deployment.cancel_requested
            ).where(Deployment.id.in_(ids) & (Deployment.state == S.RUNNING))
            if is_postgres(Deployment._meta.database):  # held as read until the commit
                query = query.for_update()
            held.update(((d, c), cancel) for d, c, cancel in tuples(query, tuple[int, int, bool]))
        writes = [r for r in reports if (r.job.id, r.job.claim) in held]
        if writes:
            at, revision = to_db_time(stamp["updated_at"]), stamp["revision"]
            update_rows(
                Deployment,
                [Deployment.phase, Deployment.progress, Deployment.updated_at, Deployment.revision],
                [(r.phase, r.percent, at, revision, r.job.id, r.job.claim) for r in writes],
                keys=[Deployment.id, Deployment.claim],  # a stale report may share the id
            )
            log_events((r.job.id, e) for r in writes for e in r.events)
    answers = []
    for report in reports:
        cancel = held.get((report.job.id, report.job.claim))
        if cancel is None:
            answers.append(Reported.CLAIM_LOST)
        else:
            answers.append(Reported.CANCEL_REQUESTED if cancel else Reported.HELD)
    return answers


def _finish(
    job: DeploymentJob,
    state: DeploymentState,
    now: datetime,
    message: str,
    level: EventLevel,
    events: Sequence[Event],
    *,
    cancelled_instead: str | None = None,
    superseded_instead: str | None = None,
    keep_cancel: bool = False,
    **extra: object,
) -> DeploymentState | None:
    """End the attempt in `state`, if this job still holds it; the state it ended in, or None
    when it did not (nothing is written then). With `cancelled_instead`, an attempt the
    administrator asked to cancel ends `cancelled` with that message instead. With
    `superseded_instead`, an attempt that would wait again while a later run's deployment
    waits for the device ends `cancelled`: that message, then why (see pending.py). With
    `keep_cancel`, a cancel request stays (the device did not confirm it stopped: the next
    attempt asks it again) and such a deployment replaces no other."""
    where = _claim(job)
    stopping = False
    with writing():
        if keep_cancel:
            query = Deployment.select(Deployment.cancel_requested).where(*_held(job))
            row = first(query, tuple[bool])
            stopping = row is not None and row[0]
        if cancelled_instead is not None:
            query = Deployment.select(Deployment.cancel_requested).where(*_held(job))
            row = first(query, tuple[bool])
            if row is not None and row[0]:
                state, message, level = S.CANCELLED, cancelled_instead, EventLevel.WARNING
                extra = {"phase": None}
                superseded_instead = None
        if superseded_instead is not None and not stopping:
            later = newer_waiting([job.id]).get(job.id)
            if later is not None:
                state, level = S.CANCELLED, EventLevel.WARNING
                message = f"{superseded_instead}; {superseded_message(later)}"
                extra = {"phase": None, "next_attempt_at": None}
        stamp = stamped(now)
        values = dict(
            state=state,
            finished_at=now if state.is_final else None,
            last_message=storable(message),
            **({} if keep_cancel else {"cancel_requested": False}),
            **extra,
            **stamp,
        )
        if any(isinstance(v, peewee.Node) for v in values.values()):
            changed = Deployment.update(**values).where(*_held(job)).execute()
        else:  # the hot path: every attempt ends here
            changed = update_where(Deployment, values, where)
        if not changed:
            return None
        log_events((job.id, e) for e in [*events, Event(now, level, message)])
        if state is S.SUCCEEDED:
            _mark_installed(job)
        elif not state.is_final and not stopping:  # it waits again: it replaces earlier
            # runs' waiting ones
            supersede(job.run_id, [job.device_id], now, stamp)
    return state


def _mark_installed(job: DeploymentJob) -> None:
    """What was deployed is now what the device runs."""
    update_rows(
        DeviceApp,
        [DeviceApp.installed],
        [(app.version_id, job.device_id, app.application_id) for app in job.config],
        keys=[DeviceApp.device, DeviceApp.application],
    )


def succeed(
    job: DeploymentJob, now: datetime, message: str, events: Sequence[Event]
) -> DeploymentState | None:
    """The device runs the configuration now. The state it ended in; None if this job no
    longer held the attempt (then nothing was written)."""
    return _finish(
        job, S.SUCCEEDED, now, message, EventLevel.INFO, events, phase=None, progress=100
    )


def cancelled(
    job: DeploymentJob, now: datetime, how: str, events: Sequence[Event]
) -> DeploymentState | None:
    """Stopped on the administrator's request, and the device confirmed it (`how`, in words:
    "d1 confirmed it stopped and rolled back")."""
    return _finish(
        job,
        S.CANCELLED,
        now,
        f"cancelled while running; {how}",
        EventLevel.WARNING,
        events,
        phase=None,
    )


CANCEL_TRIES = 8  # times a device that did not confirm a cancel is asked again, at most
# how the message of a deployment waiting to ask its device to stop begins (a paused or aborted
# run does not hold it: windows say nothing of waiting for a resume there)
STOPPING_PREFIX = "cancel requested, but "
CANCEL_BACKOFF_CAP = timedelta(minutes=15)


def cancel_unconfirmed(
    job: DeploymentJob, now: datetime, why: str, backoff: timedelta, events: Sequence[Event]
) -> DeploymentState | None:
    """The administrator cancelled the attempt, but its device did not confirm it stopped
    (`why`): it may still finish. The deployment waits (`retrying`, its cancel request kept)
    to ask the device again, its tries counted afresh; after `CANCEL_TRIES` it ends `failed`,
    saying the device may have finished — never `cancelled`, which the device did not say."""
    tries = job.attempt if job.cancelling else 0
    if tries >= CANCEL_TRIES:
        return _finish(
            job,
            S.FAILED,
            now,
            f"{STOPPING_PREFIX}{job.device} never confirmed it stopped ({why}; asked "
            f"{tries} times): it may have finished the update; check the device",
            EventLevel.ERROR,
            events,
            phase=None,
        )
    delay = min(backoff * (2 ** max(0, tries - 1)), CANCEL_BACKOFF_CAP)
    return _finish(
        job,
        S.RETRYING,
        now,
        f"{STOPPING_PREFIX}{why}; it may still finish: asking again in {describe_delay(delay)}",
        EventLevel.WARNING,
        events,
        keep_cancel=True,
        next_attempt_at=now + delay,
        phase=None,
        claimed_by=None,
        attempts=tries,
    )


def fail(
    job: DeploymentJob,
    now: datetime,
    error: str,
    *,
    transient: bool,
    max_attempts: int,
    backoff: timedelta,
    events: Sequence[Event],
) -> DeploymentState | None:
    """A failed attempt: retried later while attempts remain and the failure is transient,
    unless the administrator cancelled it meanwhile."""
    if transient and job.attempt < max_attempts:
        delay = backoff * (2 ** (job.attempt - 1))
        return _finish(
            job,
            S.RETRYING,
            now,
            f"{error}; retrying in {describe_delay(delay)} "
            f"(attempt {job.attempt + 1} of {max_attempts})",
            EventLevel.WARNING,
            events,
            cancelled_instead=f"{error}; cancelled while running, so not retried",
            superseded_instead=f"{error}; not retried",
            next_attempt_at=now + delay,
            phase=None,
            claimed_by=None,
        )
    tries = "attempt" if job.attempt == 1 else "attempts"
    why = f"{error} (gave up after {job.attempt} {tries})" if transient else error
    return _finish(job, S.FAILED, now, why, EventLevel.ERROR, events, phase=None)


def interrupt(
    job: DeploymentJob, now: datetime, events: Sequence[Event], stopped: str | None
) -> DeploymentState | None:
    """App Updater is quitting: back to `queued`, to resume at the next start — or, if the
    administrator had asked to cancel it and the device confirmed it stopped (`stopped`, in
    words), `cancelled`. Unconfirmed (`stopped` None), a cancel request stays for the next
    start to ask the device again."""
    if stopped is None:
        return _finish(
            job,
            S.QUEUED,
            now,
            "interrupted: App Updater quit before the device confirmed it stopped; the next "
            "start takes it up again",
            EventLevel.WARNING,
            events,
            keep_cancel=True,
            phase=None,
            progress=0,
            claimed_by=None,
            attempts=not_counted(),
        )
    return _finish(
        job,
        S.QUEUED,
        now,
        "interrupted: App Updater quit; it resumes at the next start",
        EventLevel.WARNING,
        events,
        cancelled_instead=f"cancelled while running; {stopped}",
        superseded_instead="interrupted: App Updater quit; not queued again",
        phase=None,
        progress=0,
        claimed_by=None,
        attempts=not_counted(),
    )


UNTRACKED = "interrupted: the database went away while this engine claimed it; queued again"


def requeue_untracked(instance: str, held: Collection[tuple[int, int]], now: datetime) -> list[int]:
    """Deployments `running` under engine `instance` that it runs no attempt for — `held` are
    the (deployment id, claim) it runs — go back to `queued`, as interrupted ones do: the
    database took a claim whose answer never came back (it went away at that moment). Call
    it from the thread that claims, so `held` is not missing a claim being made. Returns
    them."""
    query = Deployment.select(
        Deployment.id, Deployment.run, Deployment.device, Deployment.claim, Deployment.attempts
    ).where((Deployment.state == S.RUNNING) & (Deployment.claimed_by == instance))
    requeued = []
    for id_, run_id, device_id, claim, attempt in tuples(query, tuple[int, int, int, int, int]):
        if (id_, claim) in held:
            continue
        job = DeploymentJob(id_, run_id, device_id, "", {}, None, attempt, instance, claim=claim)
        ended = _finish(
            job,
            S.QUEUED,
            now,
            UNTRACKED,
            EventLevel.WARNING,
            [],
            keep_cancel=True,  # a cancel request stays: the next attempt asks the device
            superseded_instead="interrupted: the database went away while this engine claimed "
            "it; not queued again",
            phase=None,
            progress=0,
            claimed_by=None,
            attempts=not_counted(),
        )
        if ended is not None:
            requeued.append(id_)
    return requeued
