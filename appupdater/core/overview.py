"""What the Deployment Overview shows, read in a few queries: runs with their counts, the
deployments of a run (or all), only what changed since the last look, one deployment's events
and module changes, and a run's CSV report."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import peewee

from appupdater.core.csvcells import safe_row
from appupdater.core.progress import run_counts, run_status
from appupdater.heap import gc_paused
from appupdater.store.models import (
    Application,
    AppVersion,
    DeployAction,
    Deployment,
    DeploymentEvent,
    DeploymentState,
    Device,
    RunApplication,
    Target,
    UpdateRun,
)
from appupdater.store.rows import scalar, sql_fetchall, sql_rows, tuples


@dataclass(frozen=True, slots=True)
class RunSummary:
    id: int
    approved_at: datetime
    approved_by: str
    applications: str  # "line-monitor → 2.1.0, edge-gateway → 4.0.1"
    configured: bool
    counts: dict[str, int]
    # a restoring run's reason ("rollback of run #12", "revert to revision 3"); None otherwise
    reason: str | None = None

    @property
    def status(self) -> str:
        return run_status(self.configured, self.counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# a time read raw: SQLite's text, or PostgreSQL's naive datetime (both UTC)
RawTime = str | datetime | None


class DeploymentRow(NamedTuple):
    """One deployment as the overview lists it: an immutable snapshot, compared whole (in C)
    to find what a refresh changed."""

    id: int
    run: int
    device_id: int
    device: str
    state: str
    phase: str | None
    progress: int
    attempts: int
    # times as the database returns them: `parse_time` makes datetimes of them when shown
    scheduled_at: RawTime
    started_at: RawTime
    finished_at: RawTime
    next_attempt_at: RawTime
    message: str
    revision: int  # of the transaction that last wrote it (appupdater/store/revisions.py)


def run_summaries(only: list[int] | None = None) -> list[RunSummary]:
    """The summaries of the runs in `only` (every run for None), newest first. With `only`,
    each query reads those runs alone (by the run indexes), however long the history."""
    apps: dict[int, list[str]] = {}
    app_query = (
        RunApplication.select(RunApplication.run, Application.name, AppVersion.version)
        .join(Application)
        .switch(RunApplication)
        .join(AppVersion)
        .order_by(RunApplication.run, Application.name)
    )
    runs = UpdateRun.select(
        UpdateRun.id,
        UpdateRun.approved_at,
        UpdateRun.approved_by,
        UpdateRun.configured_at,
        UpdateRun.reason,
    ).order_by(UpdateRun.id.desc())
    if only is not None:
        if not only:
            return []
        app_query = app_query.where(RunApplication.run.in_(only))
        runs = runs.where(UpdateRun.id.in_(only))
    for run_id, app, version in tuples(app_query, tuple[int, str, str]):
        apps.setdefault(run_id, []).append(f"{app} → {version}")
    counts = run_counts() if only is None else _counts_of(only)
    return [
        RunSummary(
            run_id,
            approved_at,
            approved_by,
            ", ".join(apps.get(run_id, [])),
            configured_at is not None,
            counts.get(run_id, {}),
            reason,
        )
        for run_id, approved_at, approved_by, configured_at, reason in tuples(
            runs, tuple[int, datetime, str, datetime | None, str | None]
        )
    ]


def _counts_of(runs: list[int]) -> dict[int, dict[str, int]]:
    """Deployments per state of `runs`, in one query over the (run, state) index."""
    query = (
        Deployment.select(Deployment.run, Deployment.state, peewee.fn.COUNT(Deployment.id))
        .where(Deployment.run.in_(runs))
        .group_by(Deployment.run, Deployment.state)
    )
    counts: dict[int, dict[str, int]] = {}
    for run, state, number in tuples(query, tuple[int, str, int]):
        counts.setdefault(run, {})[state] = number
    return counts


def newest_run() -> int:
    """The id of the newest run (0 for none): how a window learns of runs made elsewhere."""
    return scalar(UpdateRun.select(peewee.fn.MAX(UpdateRun.id)), int) or 0


_COLUMNS = (
    Deployment.id,
    Deployment.run,
    Deployment.device,
    Device.name,
    Deployment.state,
    Deployment.phase,
    Deployment.progress,
    Deployment.attempts,
    Deployment.scheduled_at,
    Deployment.started_at,
    Deployment.finished_at,
    Deployment.next_attempt_at,
    Deployment.last_message,
    Deployment.revision,
)


def deployment_rows(
    run_id: int | list[int] | None = None,
    changed_after: int | None = None,
    names: Mapping[int, str] | None = None,
) -> list[DeploymentRow]:
    """Deployments of `run_id` (or of a list of runs; all runs for None), by id; with
    `changed_after` (a revision), those of every run written after it. Rows are read raw —
    times stay as the database returns them (see `parse_time`) — because a run can have
    100,000 of them. For changes, device names come from `names` where it has them (one less
    join per poll)."""
    if changed_after is None:
        query = Deployment.select(*_COLUMNS).join(Device).order_by(Deployment.id)
        if isinstance(run_id, list):
            query = query.where(Deployment.run.in_(run_id))
        elif run_id is not None:
            query = query.where(Deployment.run == run_id)
        sql, params = query.sql()
        with gc_paused():
            make = tuple.__new__  # what DeploymentRow._make does, without a call per row
            # Unchecked, as _make: the columns are DeploymentRow's fields, in its order. The raw
            # rows are not kept in a variable: freed here, with collections still paused.
            return [
                make(DeploymentRow, row) for row in sql_fetchall(sql, params, tuple[object, ...])
            ]
    # by the revision index alone: a run's index, or an ORDER BY id, would make the planner
    # read the whole table. All runs' changes come back, so that the caller can keep every
    # run's counts current.
    columns = [c for c in _COLUMNS if c is not Device.name]
    sql, params = Deployment.select(*columns).where(Deployment.revision > changed_after).sql()
    raw = sql_fetchall(
        sql,
        params,
        tuple[
            int, int, int, str, str | None, int, int, RawTime, RawTime, RawTime, RawTime, str, int
        ],
    )
    known = names or {}
    missing = list({row[2] for row in raw if row[2] not in known})
    extra: dict[int, str] = {}
    if missing:
        named = Device.select(Device.id, Device.name).where(Device.id.in_(missing))
        extra = dict(tuples(named, tuple[int, str]))
    rows = [DeploymentRow(r[0], r[1], r[2], known.get(r[2]) or extra[r[2]], *r[3:]) for r in raw]
    rows.sort(key=lambda row: row.id)
    return rows


def parse_time(value: RawTime) -> datetime | None:
    """A time as read raw: SQLite text or a naive datetime (PostgreSQL), both UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def released_early(row: DeploymentRow, action: str, now: datetime) -> datetime | None:
    """The time a deployment planned for a time had been scheduled for, when it was started
    before that time instead (the administrator's Deploy now, or a retry of one cancelled
    before its time); else None.

    Told from the row alone, so that 100,000 rows need no other read: an attempt that began
    before the scheduled time, or a deployment queued (not started yet) while its time is still
    ahead. A queued one still waiting for a worker when its old time passes reads as scheduled
    again: the row does not record that an administrator released it."""
    if action != DeployAction.AT or row.state == DeploymentState.SCHEDULED:
        return None
    scheduled = parse_time(row.scheduled_at)
    if scheduled is None:
        return None
    started = parse_time(row.started_at)
    if started is not None:
        return scheduled if started < scheduled else None
    return scheduled if row.state == DeploymentState.QUEUED and now < scheduled else None


def runs_changed_since(revision: int) -> set[int]:
    """The runs with a deployment written after `revision` (through the revision index)."""
    query = Deployment.select(Deployment.run).where(Deployment.revision > revision).distinct()
    return {run for (run,) in tuples(query, tuple[int])}


def newest_revision(rows: list[DeploymentRow], previous: int) -> int:
    """The highest revision among `rows`, or `previous` if that is higher."""
    return max(previous, max((row.revision for row in rows), default=previous))


def events(deployment_id: int) -> list[tuple[datetime, str, str]]:
    """(at, level, message) of each event of the deployment, oldest first."""
    query = (
        DeploymentEvent.select(DeploymentEvent.at, DeploymentEvent.level, DeploymentEvent.message)
        .where(DeploymentEvent.deployment == deployment_id)
        .order_by(DeploymentEvent.at, DeploymentEvent.id)
    )
    return list(tuples(query, tuple[datetime, str, str]))


REPORT_HEADER = (
    "device",
    "applications",
    "from",
    "to",
    "action",
    "state",
    "scheduled_at",
    "started_at",
    "finished_at",
    "attempts",
    "last_message",
)


# a row of the CSV report, in the order of REPORT_HEADER
ReportRow = tuple[str, str, str, str, str, str, str, str, str, int, str]


def run_report(run_id: int) -> list[ReportRow]:
    """One row per device of the run, as the CSV report has them (times in UTC, ISO 8601)."""
    targets: dict[int, list[tuple[str, str, str, str]]] = {}
    version_query = AppVersion.select(AppVersion.id, AppVersion.version)
    versions = {v: t for v, t in tuples(version_query, tuple[int, str])}
    target_query = (
        Target.select(
            Target.device, Application.name, Target.from_version, Target.to_version, Target.action
        )
        .join(Application)
        .where(Target.run == run_id)
        .order_by(Application.name)
    )
    for device_id, app, from_id, to_id, action in tuples(
        target_query, tuple[int, str, int | None, int, str]
    ):
        targets.setdefault(device_id, []).append(
            (app, versions.get(from_id, "") if from_id is not None else "", versions[to_id], action)
        )
    deployment_query = Deployment.select(
        Deployment.device,
        Deployment.state,
        Deployment.scheduled_at,
        Deployment.started_at,
        Deployment.finished_at,
        Deployment.attempts,
        Deployment.last_message,
    ).where(Deployment.run == run_id)
    deployments = {
        device_id: (state, scheduled, started, finished, attempts, message)
        for device_id, state, scheduled, started, finished, attempts, message in tuples(
            deployment_query,
            tuple[int, str, datetime | None, datetime | None, datetime | None, int, str],
        )
    }
    name_query = Device.select(Device.id, Device.name).where(Device.id.in_(list(targets)))
    names = dict(tuples(name_query, tuple[int, str])) if targets else {}

    def iso(moment: datetime | None) -> str:
        return moment.isoformat() if moment else ""

    rows: list[ReportRow] = []
    for device_id, items in targets.items():
        state, scheduled, started, finished, attempts, message = deployments.get(
            device_id, ("configuration only", None, None, None, 0, "")
        )
        rows.append(
            (
                names[device_id],
                "; ".join(a for a, _, _, _ in items),
                "; ".join(f for _, f, _, _ in items),
                "; ".join(t for _, _, t, _ in items),
                items[0][3],
                state,
                iso(scheduled),
                iso(started),
                iso(finished),
                attempts,
                message,
            )
        )
    rows.sort(key=lambda row: row[0])
    return rows


def export_run_csv(run_id: int, path: str | Path) -> int:
    """Write the run's report to `path` (atomically); returns the number of devices."""
    path = Path(path)
    rows = run_report(run_id)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_HEADER)
        writer.writerows(safe_row(row) for row in rows)  # an agent's message is never a formula
    partial.replace(path)
    return len(rows)


def target_summaries(runs: Iterable[int] | None = None) -> dict[int, dict[int, tuple[str, str]]]:
    """run -> device id -> (applications text, action), for the deployments list: static per
    run, so read once when a run is opened (all runs for None). Read raw and keyed by plain ints
    because a run has a row per device and application (100,000 and more); most devices of a
    run share their few (application, action) pairs, so those values are shared too."""
    names = dict(tuples(Application.select(Application.id, Application.name), tuple[int, str]))
    query = Target.select(Target.run, Target.device, Target.application, Target.action)
    if runs is not None:
        query = query.where(Target.run.in_(list(runs)))
    sql, params = query.sql()
    summary: dict[int, dict[int, tuple[str, str]]] = {}
    shared: dict[tuple[int, str], tuple[str, str]] = {}
    several: dict[tuple[int, int], list[str]] = {}
    with gc_paused():
        for run, device, app_id, action in sql_rows(sql, params, tuple[int, int, int, str]):
            devices = summary.get(run)
            if devices is None:
                devices = summary[run] = {}
            if device in devices:  # a device updating more than one application
                several.setdefault((run, device), [devices[device][0]]).append(names[app_id])
                continue
            value = shared.get((app_id, action))
            if value is None:
                value = shared[(app_id, action)] = (names[app_id], action)
            devices[device] = value
        for (run, device), apps in several.items():
            summary[run][device] = (", ".join(sorted(apps)), summary[run][device][1])
    return summary
