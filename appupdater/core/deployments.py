"""Deployment state changes, written so that several engines on one database agree.

Every change is a conditional update on the state it expects (`queued` → `running` only if still
`queued`), so the same deployment is never claimed twice, and every change logs an event. States
and their order are DESIGN.md's:

    scheduled → queued → running → succeeded | failed | cancelled
                  ↑         ↓ transient failure
                  └── retrying (until next_attempt_at)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import peewee

from appupdater.core.catalog import MODULE_FIELDS, ModuleInfo
from appupdater.errors import RunError
from appupdater.store.bulk import insert_rows, update_rows, update_where
from appupdater.store.db import writing
from appupdater.store.fields import to_db_time
from appupdater.store.models import (
    Application,
    AppVersion,
    Deployment,
    DeploymentEvent,
    DeploymentPhase,
    DeploymentState,
    Device,
    DeviceApp,
    EngineInstance,
    Module,
    UpdateRun,
)
from appupdater.store.revisions import next_revision

S = DeploymentState
WAITING = (S.SCHEDULED, S.QUEUED, S.RETRYING)
LATE_AFTER = timedelta(seconds=60)  # a scheduled start later than this is reported as late


@dataclass(frozen=True)
class AppConfig:
    """One configured application of a device, as deployed."""

    application: str
    version: str
    version_id: int
    modules: tuple[ModuleInfo, ...]
    application_id: int = 0


@dataclass(frozen=True)
class DeploymentJob:
    """What a worker needs to push one device's whole configuration."""

    id: int
    run_id: int
    device_id: int
    device: str
    labels: dict
    endpoint: str | None
    attempt: int
    instance: str
    config: tuple[AppConfig, ...] = field(default=())
    connection: Connection | None = None


@dataclass(frozen=True)
class Connection:
    """How to reach a device's agent. The token is left out of repr() (and so of logs)."""

    endpoint: str
    token: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    fingerprint: str | None = None


def _one_less():
    """attempts - 1, but not below 0 (portable: no MAX/GREATEST)."""
    return peewee.Case(None, [(Deployment.attempts > 0, Deployment.attempts - 1)], 0)


# ---- events ------------------------------------------------------------------------------


def _stamped(now: datetime) -> dict:
    """The columns every write to deployments sets: when, and the transaction's revision (for
    pollers, see appupdater/store/revisions.py). Call it inside the write transaction."""
    return {"updated_at": now, "revision": next_revision()}


def log_events(rows: Iterable[tuple[int, datetime, str, str]]) -> None:
    """Write (deployment id, at, level, message) events."""
    insert_rows(
        DeploymentEvent,
        (
            DeploymentEvent.deployment,
            DeploymentEvent.at,
            DeploymentEvent.level,
            DeploymentEvent.message,
        ),
        [(d, to_db_time(at), level, message) for d, at, level, message in rows],
    )


def log(deployment_id: int, at: datetime, message: str, level: str = "info") -> None:
    log_events([(deployment_id, at, level, message)])


def describe_delay(delay: timedelta) -> str:
    """`2 h 13 min`, `4 min 5 s`, `12 s`, `0.5 s`."""
    if delay.total_seconds() < 10:
        return f"{delay.total_seconds():.1f} s".replace(".0 s", " s")
    seconds = int(delay.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


# ---- the scheduler's moves ------------------------------------------------------------------


def promote_due(now: datetime) -> list[int]:
    """Scheduled deployments whose time has come, and retrying ones whose next attempt is due,
    become queued. A scheduled start more than a minute late says so, and by how much."""
    stamp = to_db_time(now)
    due_filter = ((Deployment.state == S.SCHEDULED) & (Deployment.scheduled_at <= stamp)) | (
        (Deployment.state == S.RETRYING) & (Deployment.next_attempt_at <= stamp)
    )
    if not Deployment.select(Deployment.id).where(due_filter).limit(1).exists():
        return []  # the common case, answered without taking the write lock
    with writing():
        due = list(
            Deployment.select(Deployment.id, Deployment.state, Deployment.scheduled_at)
            .where(
                ((Deployment.state == S.SCHEDULED) & (Deployment.scheduled_at <= stamp))
                | ((Deployment.state == S.RETRYING) & (Deployment.next_attempt_at <= stamp))
            )
            .tuples()
        )
        if not due:
            return []
        ids = [d for d, _, _ in due]
        Deployment.update(state=S.QUEUED, next_attempt_at=None, **_stamped(now)).where(
            Deployment.id.in_(ids) & Deployment.state.in_([S.SCHEDULED, S.RETRYING])
        ).execute()
        events = []
        for deployment_id, state, scheduled_at in due:
            if state == S.RETRYING:
                text = "next attempt is due; queued"
            elif now - scheduled_at > LATE_AFTER:
                text = (
                    f"scheduled time reached; started late by {describe_delay(now - scheduled_at)} "
                    "(App Updater was not running at the scheduled time)"
                )
            else:
                text = "scheduled time reached; queued"
            events.append((deployment_id, now, "info", text))
        log_events(events)
    return ids


def heartbeat(instance: str, host: str, pid: int, now: datetime) -> None:
    """Record that engine `instance` is alive."""
    updated = EngineInstance.update(heartbeat_at=now).where(EngineInstance.id == instance).execute()
    if not updated:
        EngineInstance.insert(
            id=instance, host=host, pid=pid, started_at=now, heartbeat_at=now
        ).on_conflict_ignore().execute()


def forget_instance(instance: str) -> None:
    EngineInstance.delete().where(EngineInstance.id == instance).execute()


def requeue_interrupted(now: datetime, stale_after: timedelta, instance: str) -> list[int]:
    """Deployments left `running` by an engine that stopped without finishing them (a crash,
    a power loss, a kill) go back to `queued`; the attempt is not counted against them."""
    stale = to_db_time(now - stale_after)
    alive = EngineInstance.select(EngineInstance.id).where(
        (EngineInstance.heartbeat_at > stale) | (EngineInstance.id == instance)
    )
    orphaned = (Deployment.state == S.RUNNING) & (
        Deployment.claimed_by.is_null() | Deployment.claimed_by.not_in(alive)
    )
    if not Deployment.select(Deployment.id).where(orphaned).limit(1).exists():
        return []  # the common case, answered without taking the write lock
    with writing():
        orphans = [d for (d,) in Deployment.select(Deployment.id).where(orphaned).tuples()]
        if not orphans:
            return []
        Deployment.update(
            state=S.QUEUED,
            claimed_by=None,
            phase=None,
            progress=0,
            attempts=_one_less(),
            **_stamped(now),
        ).where(Deployment.id.in_(orphans) & (Deployment.state == S.RUNNING)).execute()
        log_events(
            (
                d,
                now,
                "warning",
                "interrupted: the engine running it stopped (crash, power loss or kill); "
                "queued again",
            )
            for d in orphans
        )
        EngineInstance.delete().where(EngineInstance.heartbeat_at <= stale).execute()
    return orphans


@lru_cache(maxsize=4)
def _claim_query_text(database_id: int) -> tuple[str, tuple]:
    """The claimable-deployments query as text and its constant parameters, with the LIMIT
    parameter last and left out; built once per database (it runs after every deployment)."""
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
    marker = 987_654_321
    sql, params = (
        Deployment.select(Deployment.id)
        .where((Deployment.state == S.QUEUED) & ~peewee.fn.EXISTS(busy) & ~peewee.fn.EXISTS(older))
        .order_by(Deployment.id)
        .limit(marker)
        .sql()
    )
    if params[-1] != marker:  # LIMIT inlined or moved: a peewee change this code must follow
        raise RuntimeError("unexpected shape of the claim query")
    return sql, tuple(params[:-1])


def _claimable_sql() -> tuple[str, tuple]:
    return _claim_query_text(id(Deployment._meta.database.obj))


def claim(instance: str, now: datetime | Callable[[], datetime], limit: int) -> list[DeploymentJob]:
    """Take up to `limit` queued deployments for `instance`: the oldest of each device, and only
    for devices with nothing running. The update is conditional, so a deployment another engine
    took first is not taken again. Given a clock (`now` callable), the start time is read once
    the write lock is held, so it is never before the end of what ran on the device before."""
    if limit <= 0:
        return []
    sql, params = _claimable_sql()
    with writing():
        if callable(now):
            now = now()
        cursor = Deployment._meta.database.execute_sql(sql, [*params, limit])
        candidates = [d for (d,) in cursor.fetchall()]
        if not candidates:
            return []
        claimed = [
            d
            for (d,) in Deployment.update(
                state=S.RUNNING,
                claimed_by=instance,
                started_at=now,
                finished_at=None,
                phase=DeploymentPhase.CONNECTING,
                progress=0,
                attempts=Deployment.attempts + 1,
                cancel_requested=False,
                **_stamped(now),
            )
            .where(Deployment.id.in_(candidates) & (Deployment.state == S.QUEUED))
            .returning(Deployment.id)
            .tuples()
            .execute()
        ]
        jobs = _jobs(claimed, instance)
        log_events(
            (job.id, now, "info", f"attempt {job.attempt} started on {job.device}") for job in jobs
        )
    return jobs


def _jobs(ids: list[int], instance: str) -> list[DeploymentJob]:
    """The claimed deployments with each device's whole configuration."""
    if not ids:
        return []
    rows = list(
        Deployment.select(
            Deployment.id,
            Deployment.run,
            Deployment.device,
            Device.name,
            Device.labels,
            Device.endpoint,
            Deployment.attempts,
            Device.token,
            Device.tls_ca_file,
            Device.tls_fingerprint,
        )
        .join(Device)
        .where(Deployment.id.in_(ids))
        .order_by(Deployment.id)
        .tuples()
    )
    device_ids = [row[2] for row in rows]
    configs: dict[int, list[AppConfig]] = {}
    config_rows = (
        DeviceApp.select(
            DeviceApp.device,
            Application.name,
            AppVersion.version,
            AppVersion.id,
            DeviceApp.application,
        )
        .join(Application)
        .switch(DeviceApp)
        .join(AppVersion, on=DeviceApp.configured == AppVersion.id)
        .where(DeviceApp.device.in_(device_ids))
        .order_by(Application.name)
        .tuples()
    )
    version_ids = set()
    pending = []
    for device_id, app, version, version_id, app_id in config_rows:
        pending.append((device_id, app, version, version_id, app_id))
        version_ids.add(version_id)
    modules: dict[int, list[ModuleInfo]] = {}
    for version_id, *module in (
        Module.select(Module.app_version, *MODULE_FIELDS)
        .where(Module.app_version.in_(list(version_ids)))
        .order_by(Module.position)
        .tuples()
    ):
        modules.setdefault(version_id, []).append(ModuleInfo(*module))
    for device_id, app, version, version_id, app_id in pending:
        configs.setdefault(device_id, []).append(
            AppConfig(app, version, version_id, tuple(modules.get(version_id, ())), app_id)
        )
    return [
        DeploymentJob(
            d,
            run,
            device_id,
            name,
            labels if isinstance(labels, dict) else json.loads(labels or "{}"),
            endpoint,
            attempts,
            instance,
            tuple(configs.get(device_id, ())),
            Connection(endpoint, token, ca_file, fingerprint) if endpoint else None,
        )
        for d, run, device_id, name, labels, endpoint, attempts, token, ca_file, fingerprint in rows
    ]


# ---- what a worker reports ------------------------------------------------------------------


def report_progress(
    deployment_id: int,
    phase: str,
    progress: int,
    now: datetime,
    events: list[tuple[datetime, str, str]],
) -> bool:
    """Write phase, progress and buffered events of a running deployment; True when someone
    asked to cancel it (from any process)."""
    with writing():
        Deployment.update(phase=phase, progress=progress, **_stamped(now)).where(
            (Deployment.id == deployment_id) & (Deployment.state == S.RUNNING)
        ).execute()
        log_events((deployment_id, at, level, text) for at, level, text in events)
        row = (
            Deployment.select(Deployment.cancel_requested)
            .where(Deployment.id == deployment_id)
            .tuples()
            .first()
        )
    return bool(row and row[0])


def _finish(
    job: DeploymentJob,
    state: S,
    now: datetime,
    message: str,
    level: str,
    events: list[tuple[datetime, str, str]],
    **extra,
) -> bool:
    where = dict(id=job.id, state=S.RUNNING, claimed_by=job.instance)
    with writing():
        values = dict(
            state=state,
            finished_at=now if state.is_final else None,
            last_message=message,
            cancel_requested=False,
            **extra,
            **_stamped(now),
        )
        if any(isinstance(v, peewee.Node) for v in values.values()):
            changed = (
                Deployment.update(**values)
                .where(*(getattr(Deployment, k) == v for k, v in where.items()))
                .execute()
            )
        else:  # the hot path: every attempt ends here
            changed = update_where(Deployment, values, where)
        log_events(
            [(job.id, at, lvl, text) for at, lvl, text in events] + [(job.id, now, level, message)]
        )
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


def succeed(
    job: DeploymentJob, now: datetime, message: str, events: list[tuple[datetime, str, str]]
) -> bool:
    return _finish(job, S.SUCCEEDED, now, message, "info", events, phase=None, progress=100)


def cancelled(job: DeploymentJob, now: datetime, events: list[tuple[datetime, str, str]]) -> bool:
    return _finish(
        job,
        S.CANCELLED,
        now,
        "cancelled while running; the device was told to stop",
        "warning",
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
    events: list[tuple[datetime, str, str]],
) -> DeploymentState:
    """A failed attempt: retried later while attempts remain and the failure is transient."""
    if transient and job.attempt < max_attempts:
        delay = backoff * (2 ** (job.attempt - 1))
        at = now + delay
        _finish(
            job,
            S.RETRYING,
            now,
            f"{error}; retrying in {describe_delay(delay)} "
            f"(attempt {job.attempt + 1} of {max_attempts})",
            "warning",
            events,
            next_attempt_at=at,
            phase=None,
            claimed_by=None,
        )
        return S.RETRYING
    why = f"{error} (gave up after {job.attempt} attempts)" if transient else error
    _finish(job, S.FAILED, now, why, "error", events, phase=None)
    return S.FAILED


def interrupt(job: DeploymentJob, now: datetime, events: list[tuple[datetime, str, str]]) -> None:
    """App Updater is quitting: back to `queued`, to resume at the next start."""
    _finish(
        job,
        S.QUEUED,
        now,
        "interrupted: App Updater quit; it resumes at the next start",
        "warning",
        events,
        phase=None,
        progress=0,
        claimed_by=None,
        attempts=_one_less(),
    )


# ---- what an administrator asks -------------------------------------------------------------


def _change(ids: Iterable[int], now: datetime, allowed: tuple, message: str, **values) -> list[int]:
    ids = list(ids)
    with writing():
        changed = [
            d
            for (d,) in Deployment.update(**values, **_stamped(now))
            .where(Deployment.id.in_(ids) & Deployment.state.in_(list(allowed)))
            .returning(Deployment.id)
            .tuples()
            .execute()
        ]
        log_events((d, now, "info", message) for d in changed)
    return changed


def cancel(ids: Iterable[int], now: datetime) -> tuple[list[int], list[int]]:
    """Cancel waiting deployments at once; ask running ones to stop. Returns both lists."""
    ids = list(ids)
    stopped = _change(
        ids,
        now,
        WAITING,
        "cancelled by the administrator",
        state=S.CANCELLED,
        finished_at=now,
        next_attempt_at=None,
    )
    asked = _change(
        ids, now, (S.RUNNING,), "cancel requested; asking the device to stop", cancel_requested=True
    )
    return stopped, asked


def retry(ids: Iterable[int], now: datetime) -> list[int]:
    """A failed or cancelled deployment is queued again, with a fresh count of attempts."""
    return _change(
        ids,
        now,
        (S.FAILED, S.CANCELLED),
        "retry requested; queued",
        state=S.QUEUED,
        attempts=0,
        finished_at=None,
        last_message="",
        next_attempt_at=None,
    )


def deploy_now(ids: Iterable[int], now: datetime) -> list[int]:
    """A scheduled (or retrying) deployment starts without waiting for its time."""
    return _change(
        ids,
        now,
        (S.SCHEDULED, S.RETRYING),
        "deploy now requested; queued",
        state=S.QUEUED,
        next_attempt_at=None,
    )


def reschedule(ids: Iterable[int], at: datetime, now: datetime) -> list[int]:
    """Move waiting, failed or cancelled deployments to a new (future) time."""
    if at <= now:
        raise RunError(f"the new time {at.isoformat(timespec='minutes')} is in the past")
    return _change(
        ids,
        now,
        (*WAITING, S.FAILED, S.CANCELLED),
        f"rescheduled for {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        state=S.SCHEDULED,
        scheduled_at=at,
        finished_at=None,
        next_attempt_at=None,
    )


# ---- what a run looks like ------------------------------------------------------------------


def run_counts(run_id: int | None = None) -> dict[int, dict[str, int]]:
    """Deployments per state, per run."""
    query = Deployment.select(Deployment.run, Deployment.state, peewee.fn.COUNT(Deployment.id))
    if run_id is not None:
        query = query.where(Deployment.run == run_id)
    counts: dict[int, dict[str, int]] = {}
    for run, state, number in query.group_by(Deployment.run, Deployment.state).tuples():
        counts.setdefault(run, {})[state] = number
    return counts


def run_status(configured: bool, counts: dict[str, int]) -> str:
    """A run's status, derived from its deployments: never stored."""
    if not configured:
        return "configuring"
    if any(counts.get(s, 0) for s in (S.SCHEDULED, S.QUEUED, S.RUNNING, S.RETRYING)):
        return "in progress"
    total = sum(counts.values())
    if total and counts.get(S.CANCELLED, 0) == total:
        return "cancelled"
    if counts.get(S.FAILED, 0):
        return "completed with failures"
    return "completed"


def run_finished(run_id: int) -> tuple[bool, int, int]:
    """(every deployment final, succeeded, failed) for `run_id`. Cheap while the run goes on:
    one indexed look for a deployment still waiting or running."""
    open_work = (
        Deployment.select(Deployment.id)
        .where((Deployment.run == run_id) & Deployment.state.in_([*WAITING, S.RUNNING]))
        .limit(1)
    )
    if open_work.exists():
        return False, 0, 0
    configured = (
        UpdateRun.select(UpdateRun.configured_at).where(UpdateRun.id == run_id).scalar() is not None
    )
    counts = run_counts(run_id).get(run_id, {})
    return configured, counts.get(S.SUCCEEDED, 0), counts.get(S.FAILED, 0)


def pending_runs() -> list[int]:
    """Runs approved but not yet configured."""
    return [
        r
        for (r,) in UpdateRun.select(UpdateRun.id)
        .where(UpdateRun.configured_at.is_null())
        .order_by(UpdateRun.id)
        .tuples()
    ]


def activity() -> dict[str, int]:
    """How many deployments are in each non-final state, and failed, over all runs."""
    counts = dict.fromkeys((s.value for s in S), 0)
    for state, number in (
        Deployment.select(Deployment.state, peewee.fn.COUNT(Deployment.id))
        .group_by(Deployment.state)
        .tuples()
    ):
        counts[state] = number
    return counts


@dataclass(frozen=True)
class Activity:
    """What the tray tells: work under way, and failures of the last day."""

    running: int
    waiting: int  # queued or retrying
    scheduled: int
    failed_recently: int


def current_activity(now: datetime, recent: timedelta = timedelta(hours=24)) -> Activity:
    counts = activity()
    failed = (
        Deployment.select()
        .where((Deployment.state == S.FAILED) & (Deployment.finished_at >= now - recent))
        .count()
    )
    return Activity(
        counts[S.RUNNING], counts[S.QUEUED] + counts[S.RETRYING], counts[S.SCHEDULED], failed
    )
