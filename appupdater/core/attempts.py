"""The end of an attempt, as the worker that ran it reports it: progress on the way, then
succeeded, failed (or retrying), cancelled, or interrupted by App Updater quitting.

Each end is a conditional update on the attempt still being `running` and claimed by the
reporting engine, so a late report of an engine that was given up on changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import peewee

from appupdater.core.events import Event, EventLevel, describe_delay, log_events
from appupdater.core.jobs import DeploymentJob
from appupdater.store.bulk import update_rows, update_where
from appupdater.store.db import writing
from appupdater.store.models import Deployment, DeploymentState, DeviceApp
from appupdater.store.revisions import stamped
from appupdater.store.rows import first

S = DeploymentState


def not_counted() -> peewee.Node:
    """attempts - 1, but not below 0 (portable: no MAX/GREATEST): for an attempt that was
    interrupted rather than tried."""
    return peewee.Case(None, [(Deployment.attempts > 0, Deployment.attempts - 1)], 0)


def report_progress(
    deployment_id: int, phase: str, progress: int, now: datetime, events: Sequence[Event]
) -> bool:
    """Write phase, progress and buffered events of a running deployment; True when someone
    asked to cancel it (from any process)."""
    with writing():
        Deployment.update(phase=phase, progress=progress, **stamped(now)).where(
            (Deployment.id == deployment_id) & (Deployment.state == S.RUNNING)
        ).execute()
        log_events((deployment_id, e) for e in events)
        query = Deployment.select(Deployment.cancel_requested).where(Deployment.id == deployment_id)
        row = first(query, tuple[bool])
    return bool(row and row[0])


def _finish(
    job: DeploymentJob,
    state: DeploymentState,
    now: datetime,
    message: str,
    level: EventLevel,
    events: Sequence[Event],
    **extra: object,
) -> bool:
    where = {"id": job.id, "state": S.RUNNING, "claimed_by": job.instance}
    with writing():
        values = dict(
            state=state,
            finished_at=now if state.is_final else None,
            last_message=message,
            cancel_requested=False,
            **extra,
            **stamped(now),
        )
        if any(isinstance(v, peewee.Node) for v in values.values()):
            changed = (
                Deployment.update(**values)
                .where(*(getattr(Deployment, k) == v for k, v in where.items()))
                .execute()
            )
        else:  # the hot path: every attempt ends here
            changed = update_where(Deployment, values, where)
        log_events((job.id, e) for e in [*events, Event(now, level, message)])
        if changed and state is S.SUCCEEDED:
            _mark_installed(job)
    return bool(changed)


def _mark_installed(job: DeploymentJob) -> None:
    """What was deployed is now what the device runs."""
    update_rows(
        DeviceApp,
        [DeviceApp.installed],
        [(app.version_id, job.device_id, app.application_id) for app in job.config],
        keys=[DeviceApp.device, DeviceApp.application],
    )


def succeed(job: DeploymentJob, now: datetime, message: str, events: Sequence[Event]) -> bool:
    return _finish(
        job, S.SUCCEEDED, now, message, EventLevel.INFO, events, phase=None, progress=100
    )


def cancelled(job: DeploymentJob, now: datetime, events: Sequence[Event]) -> bool:
    return _finish(
        job,
        S.CANCELLED,
        now,
        "cancelled while running; the device was told to stop",
        EventLevel.WARNING,
        events,
        phase=None,
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
) -> DeploymentState:
    """A failed attempt: retried later while attempts remain and the failure is transient."""
    if transient and job.attempt < max_attempts:
        delay = backoff * (2 ** (job.attempt - 1))
        _finish(
            job,
            S.RETRYING,
            now,
            f"{error}; retrying in {describe_delay(delay)} "
            f"(attempt {job.attempt + 1} of {max_attempts})",
            EventLevel.WARNING,
            events,
            next_attempt_at=now + delay,
            phase=None,
            claimed_by=None,
        )
        return S.RETRYING
    why = f"{error} (gave up after {job.attempt} attempts)" if transient else error
    _finish(job, S.FAILED, now, why, EventLevel.ERROR, events, phase=None)
    return S.FAILED


def interrupt(job: DeploymentJob, now: datetime, events: Sequence[Event]) -> bool:
    """App Updater is quitting: back to `queued`, to resume at the next start."""
    return _finish(
        job,
        S.QUEUED,
        now,
        "interrupted: App Updater quit; it resumes at the next start",
        EventLevel.WARNING,
        events,
        phase=None,
        progress=0,
        claimed_by=None,
        attempts=not_counted(),
    )
