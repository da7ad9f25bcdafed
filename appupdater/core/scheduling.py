"""The scheduler's moves, written so that several engines on one database agree: due
deployments become queued, engines tell that they are alive, deployments of an engine that died
go back to the queue, and queued ones are claimed.

Every change is a conditional update on the state it expects (`queued` → `running` only if
still `queued`), so the same deployment is never claimed twice, and every change logs an event.
"""

from __future__ import annotations

import functools
import operator
import random
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from functools import lru_cache

import peewee

from appupdater.core.attempts import CANCEL_TRIES, STOPPING_PREFIX, not_counted
from appupdater.core.events import Event, describe_delay, log_events
from appupdater.core.jobs import DeploymentJob, load_jobs
from appupdater.core.liveness import Watch
from appupdater.core.pending import newer_waiting, supersede, superseded_message
from appupdater.core.rollout import startable
from appupdater.store.bulk import is_postgres
from appupdater.store.db import writing
from appupdater.store.fields import to_db_time
from appupdater.store.models import (
    Approval,
    Deployment,
    DeploymentPhase,
    DeploymentState,
    EngineInstance,
    UpdateRun,
)
from appupdater.store.revisions import stamped
from appupdater.store.rows import returned, sql_fetchall, tuples

S = DeploymentState
LATE_AFTER = timedelta(seconds=60)  # a scheduled start later than this is reported as late


def pending_runs() -> list[int]:
    """Runs approved but not yet configured (none awaiting a second approver, rejected or
    expired: see core/approvals.py)."""
    query = UpdateRun.select(UpdateRun.id).where(
        UpdateRun.configured_at.is_null()
        & (UpdateRun.approval.is_null() | (UpdateRun.approval == Approval.APPROVED.value))
    )
    return [r for (r,) in tuples(query.order_by(UpdateRun.id), tuple[int])]


def _due(stamp: str) -> peewee.Expression:
    due = ((Deployment.state == S.SCHEDULED) & (Deployment.scheduled_at <= stamp)) | (
        (Deployment.state == S.RETRYING) & (Deployment.next_attempt_at <= stamp)
    )
    return due & startable()


def promote_due(now: datetime) -> list[int]:
    """Scheduled deployments whose time has come, and retrying ones whose next attempt is due,
    become queued, unless their run is paused (they wait until it is resumed). A scheduled
    start more than a minute late says so, and by how much."""
    due_filter = _due(to_db_time(now))
    if not Deployment.select(Deployment.id).where(due_filter).limit(1).exists():
        return []  # the common case, answered without taking the write lock
    with writing():
        query = Deployment.select(Deployment.id, Deployment.state, Deployment.scheduled_at)
        due = list(tuples(query.where(due_filter), tuple[int, str, datetime | None]))
        if not due:
            return []
        ids = [d for d, _, _ in due]
        Deployment.update(state=S.QUEUED, next_attempt_at=None, **stamped(now)).where(
            Deployment.id.in_(ids) & Deployment.state.in_([S.SCHEDULED, S.RETRYING]) & startable()
        ).execute()
        log_events(
            (d, Event.info(now, _promotion(state, scheduled_at, now)))
            for d, state, scheduled_at in due
        )
    return ids


def _promotion(state: str, scheduled_at: datetime | None, now: datetime) -> str:
    if state == S.RETRYING:
        return "next attempt is due; queued"
    if scheduled_at is not None and now - scheduled_at > LATE_AFTER:
        return (
            f"scheduled time reached; started late by {describe_delay(now - scheduled_at)} "
            "(App Updater was not running at the scheduled time)"
        )
    return "scheduled time reached; queued"


def heartbeat(instance: str, host: str, pid: int, now: datetime) -> None:
    """Record that engine `instance` is alive: its beat moves on (what other engines watch,
    see liveness.py); `now`, its own wall clock, is only shown. A row made anew (first beat, or
    after others judged it dead and removed it) starts at a random beat, so no engine that
    watched the old row mistakes the new one for the same silence."""
    updated = (
        EngineInstance.update(heartbeat_at=now, beat=EngineInstance.beat + 1)
        .where(EngineInstance.id == instance)
        .execute()
    )
    if not updated:
        EngineInstance.insert(
            id=instance,
            host=host,
            pid=pid,
            started_at=now,
            heartbeat_at=now,
            beat=random.getrandbits(48),
        ).on_conflict_ignore().execute()


def forget_instance(instance: str) -> None:
    EngineInstance.delete().where(EngineInstance.id == instance).execute()


_NO_ROW = -1  # the beat of an engine without a row, as a watch sees it (rows start at >= 0)

_STOPPED_REQUEUED = (
    "interrupted: the engine running it stopped (crash, power loss or kill); queued again"
)
_STOPPED_SUPERSEDED = (
    "interrupted: the engine running it stopped (crash, power loss or kill); not queued again"
)
_STOPPED_CANCELLING = (
    f"{STOPPING_PREFIX}the engine running it stopped (crash, power loss or kill) before "
    "the device confirmed it stopped; asking the device to stop"
)


def requeue_interrupted(now: datetime, watch: Watch) -> list[int]:
    """Deployments left `running` by an engine that stopped without finishing them (a crash,
    a power loss, a kill) go back to `queued`; the attempt is not counted against them. Those
    the administrator had asked to cancel go back to `queued` keeping the request: their next
    attempt asks the device to stop (nobody knows whether it did). Those whose device waits
    for a later run's deployment end `cancelled` (superseded, see pending.py). Returns them
    all.

    An engine is stopped when `watch` (the calling engine's) saw its beat stand still for
    `stale_after` — or, for an engine without a row that holds running deployments, saw the
    row missing that long. Its row is removed, only if its beat still stands, in the
    transaction that takes its deployments; a beat or a row that came back meanwhile keeps
    them where they are."""
    beats = dict(
        tuples(EngineInstance.select(EngineInstance.id, EngineInstance.beat), tuple[str, int])
    )
    holders = Deployment.select(Deployment.claimed_by).distinct()
    for (holder,) in tuples(holders.where(Deployment.state == S.RUNNING), tuple[str | None]):
        if holder is not None and holder not in beats:
            beats[holder] = _NO_ROW
    silent = watch.silent(beats)
    present = EngineInstance.select(EngineInstance.id)
    orphaned = (Deployment.state == S.RUNNING) & (
        Deployment.claimed_by.is_null()
        | (Deployment.claimed_by.in_(list(silent)) & Deployment.claimed_by.not_in(present))
    )
    if not silent and not Deployment.select(Deployment.id).where(orphaned).limit(1).exists():
        return []  # the common case, answered without taking the write lock
    with writing():
        stopped = [
            (EngineInstance.id == other) & (EngineInstance.beat == beat)
            for other, beat in silent.items()
            if beat != _NO_ROW
        ]
        if stopped:
            EngineInstance.delete().where(functools.reduce(operator.or_, stopped)).execute()
        stamp = stamped(now)
        waiting_again = orphaned & ~Deployment.cancel_requested
        candidates = [
            d for (d,) in tuples(Deployment.select(Deployment.id).where(waiting_again), tuple[int])
        ]
        later = newer_waiting(candidates)
        superseded: list[int] = []
        for run_id in set(later.values()):
            message = f"{_STOPPED_SUPERSEDED}; {superseded_message(run_id)}"
            ids = [d for d, r in later.items() if r == run_id]
            query = Deployment.update(
                state=S.CANCELLED, phase=None, finished_at=now, last_message=message, **stamp
            ).where(waiting_again & Deployment.id.in_(ids))
            done = [d for (d,) in returned(query.returning(Deployment.id), tuple[int])]
            log_events((d, Event.warning(now, message)) for d in done)
            superseded.extend(done)
        back = list(
            returned(
                Deployment.update(
                    state=S.QUEUED,
                    claimed_by=None,
                    phase=None,
                    progress=0,
                    attempts=not_counted(),
                    **stamp,
                )
                .where(waiting_again)
                .returning(Deployment.id, Deployment.run, Deployment.device),
                tuple[int, int, int],
            )
        )
        requeued = [d for d, _, _ in back]
        # the device may still run what it was asked to stop: the next attempt asks it again
        stopping = [
            d
            for (d,) in returned(
                Deployment.update(
                    state=S.QUEUED,
                    claimed_by=None,
                    phase=None,
                    progress=0,
                    attempts=0,
                    last_message=_STOPPED_CANCELLING,
                    **stamp,
                )
                .where(orphaned & Deployment.cancel_requested)
                .returning(Deployment.id),
                tuple[int],
            )
        ]
        log_events(
            [(d, Event.warning(now, _STOPPED_REQUEUED)) for d in requeued]
            + [(d, Event.warning(now, _STOPPED_CANCELLING)) for d in stopping]
        )
        for _, run_id, device_id in back:  # waiting again, it replaces earlier runs' waiting
            supersede(run_id, [device_id], now, stamp)
    return sorted(requeued + stopping + superseded)


@lru_cache(maxsize=256)
def _claimable_query(database_id: int, limit: int) -> tuple[str, tuple[object, ...]]:
    """The claimable-deployments query as SQL text and parameters, built once per database and
    limit (it runs after every deployment; the limit takes few values: the free workers).

    On PostgreSQL the candidates are locked as they are read, skipping those another engine
    is claiming at this moment (SKIP LOCKED), so engines claim side by side instead of queueing
    for the same rows. The per-device conditions read the snapshot, locked rows included: a
    device whose older deployment another engine is taking has no candidate here."""
    running = Deployment.alias("running")
    earlier = Deployment.alias("earlier")
    busy = running.select(running.id).where(
        (running.device == Deployment.device) & (running.state == S.RUNNING)
    )
    older = earlier.select(earlier.id).where(
        (earlier.device == Deployment.device)
        & (earlier.state == S.QUEUED)
        & (earlier.id < Deployment.id)
    )
    query = (
        Deployment.select(Deployment.id)
        .where(
            (Deployment.state == S.QUEUED)
            & ~peewee.fn.EXISTS(busy)
            & ~peewee.fn.EXISTS(older)
            & startable()
        )
        .order_by(Deployment.id)
        .limit(limit)
    )
    if is_postgres(Deployment._meta.database):
        # peewee takes the lock clause as text; its stubs allow only a bool
        query = query.for_update("FOR UPDATE SKIP LOCKED")  # type: ignore[arg-type]
    sql, params = query.sql()
    return sql, tuple(params)


def claim(instance: str, now: datetime | Callable[[], datetime], limit: int) -> list[DeploymentJob]:
    """Take up to `limit` queued deployments for `instance`, in one transaction: the oldest of
    each device, only for devices with nothing running, and none of a paused run. The update is
    conditional, so a deployment another engine took first is not taken again. Given a clock
    (`now` callable), the start time is read once the write lock is held, so it is never before
    the end of what ran on the device before.
    Each claim gets a new claim number (see attempts.py)."""
    if limit <= 0:
        return []
    database = Deployment._meta.database
    sql, params = _claimable_query(id(database.obj), limit)
    with writing():
        moment = now() if callable(now) else now
        candidates = [d for (d,) in sql_fetchall(sql, params, tuple[int])]
        if not candidates:
            return []
        taking = (
            Deployment.update(
                state=S.RUNNING,
                claimed_by=instance,
                claim=Deployment.claim + 1,
                started_at=moment,
                finished_at=None,
                phase=DeploymentPhase.CONNECTING,
                progress=0,
                attempts=Deployment.attempts + 1,
                **stamped(moment),
            )
            .where(Deployment.id.in_(candidates) & (Deployment.state == S.QUEUED) & startable())
            .returning(Deployment.id)
        )
        claimed = [d for (d,) in returned(taking, tuple[int])]
        jobs = load_jobs(claimed, instance)
        log_events((job.id, Event.info(moment, _started(job))) for job in jobs)
    return jobs


def claims_lost(held: Collection[tuple[int, int]]) -> list[tuple[int, int]]:
    """Of the attempts an engine runs, as (deployment id, claim number), those it no longer
    holds: another engine took them over, or they ended otherwise. One deployment may appear
    twice: an attempt lost and winding down, and the engine's later claim of it."""
    if not held:
        return []
    query = Deployment.select(Deployment.id, Deployment.claim).where(
        Deployment.id.in_(sorted({d for d, _ in held})) & (Deployment.state == S.RUNNING)
    )
    holding = set(tuples(query, tuple[int, int]))
    return sorted(set(held) - holding)


def _started(job: DeploymentJob) -> str:
    if job.cancelling:
        return (
            f"asking {job.device} to stop the deployment (cancel requested; try {job.attempt} "
            f"of {CANCEL_TRIES})"
        )
    started = f"attempt {job.attempt} started on {job.device}"
    if job.waits:
        started += (
            f"; it pushes the configuration approved with run #{job.run_id}: "
            f"{', '.join(job.waits)} configured after the approval, waits for a later "
            "approved run"
        )
    return started
