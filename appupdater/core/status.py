"""Runs and deployments with their states, for `appupdater status` and scripts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TypedDict

import peewee

from appupdater.core.approvals import EXPIRED_BY, shown_approval
from appupdater.core.progress import RunStatus, run_counts, run_status
from appupdater.core.rollout import wave_progress, wave_sizes
from appupdater.store.fields import utcnow
from appupdater.store.models import Approval, Deployment, Device, Target, UpdateRun
from appupdater.store.rows import sql_rows, tuples

# a time read raw: SQLite's text or PostgreSQL's naive datetime, both UTC
_Moment = str | datetime | None


class StrategyEntry(TypedDict):
    waves: list[int]  # each wave's size in devices
    soak_minutes: float
    max_failures_percent: float


class WaveEntry(TypedDict):
    current: int  # the open wave, 1-based
    total: int
    next_at: str | None  # during a soak: when the next wave opens (ISO 8601, UTC)


class DecisionEntry(TypedDict):
    at: str  # ISO 8601, UTC
    by: str


class PausedEntry(DecisionEntry):
    reason: str


class ApprovalEntry(TypedDict):
    """A run's second approval (None: the team asked for none when it was recorded)."""

    state: str  # "awaiting", "approved", "rejected", "expired" (as of now)
    requested_by: str
    requested_at: str | None  # ISO 8601, UTC
    expires_at: str | None
    decided_by: str | None  # "expiry" for an expired request
    decided_at: str | None
    note: str | None


class SkippedEntry(TypedDict):
    """A device the run's configuration step left as it is (its configuration moved since the
    run was planned), with why: it has no deployment of the run to tell it."""

    device: str
    why: str


class RunEntry(TypedDict):
    id: int
    status: RunStatus
    # who approved it and when: under the second-approver policy the second person, and None
    # while it awaits a decision or when it was rejected or expired (see `approval`)
    approved_by: str | None
    approved_at: str | None  # ISO 8601, UTC
    counts: dict[str, int]  # deployments per state
    strategy: StrategyEntry | None  # None: all at once
    wave: WaveEntry | None
    paused: PausedEntry | None
    aborted: DecisionEntry | None
    rollback_of: int | None  # the run a rollback run undoes
    reason: str | None  # a restoring run's: "rollback of run #12", "revert to revision 3"
    approval: ApprovalEntry | None
    skipped: list[SkippedEntry]  # by device name


class DeploymentEntry(TypedDict):
    id: int
    run: int
    device: str
    state: str
    phase: str | None
    progress: int
    attempts: int
    message: str
    action: str  # "now" or "at" (a deployment at a chosen time), as approved
    # ISO 8601 in UTC; None where the moment does not apply (yet)
    wave: int | None  # 1-based; None: all at once, or not deployed now
    scheduled_at: str | None  # when an "at" deployment is due
    started_at: str | None  # when its latest attempt started
    finished_at: str | None  # when it ended (succeeded, failed, cancelled)
    next_attempt_at: str | None  # when a retrying deployment is tried again


class StatusDocument(TypedDict):
    """What `appupdater status --json` prints."""

    runs: list[RunEntry]
    deployments: list[DeploymentEntry]


def status_document(run_id: int | None = None) -> StatusDocument:
    """``{"runs": [{id, status, approved_by, approved_at, counts, strategy, wave, paused,
    aborted, rollback_of, reason, approval, skipped}],
    "deployments": [{id, run, device, state, phase, progress, attempts, message,
    action, wave, scheduled_at, started_at, finished_at, next_attempt_at}]}``, newest run
    first, deployments by run and device."""
    runs = UpdateRun.select().order_by(UpdateRun.id.desc())
    if run_id is not None:
        runs = runs.where(UpdateRun.id == run_id)
    counts = run_counts(run_id)
    skipped = _skipped(run_id)
    now = utcnow()
    run_rows: list[RunEntry] = [
        {
            "id": r.id,
            "status": RunStatus.CANCELLED
            if r.aborted_at is not None and r.configured_at is None  # before any approval
            else run_status(
                r.configured_at is not None,
                counts.get(r.id, {}),
                shown_approval(r.approval, r.expires_at, now),
            ),
            **approver_of(r),
            "counts": dict(sorted(counts.get(r.id, {}).items())),
            **_decisions(r),
            "rollback_of": r.rollback_of,
            "reason": r.reason,
            "approval": _approval(r, now),
            "skipped": skipped.get(r.id, []),
        }
        for r in runs
    ]
    # a deployment's action is that of its device's targets in the run (one per device)
    target = Target.alias()
    action = (
        target.select(peewee.fn.MIN(target.action))
        .where((target.run == Deployment.run) & (target.device == Deployment.device))
        .alias("action")
    )
    query = (
        Deployment.select(
            Deployment.id,
            Deployment.run,
            Device.name,
            Deployment.state,
            Deployment.phase,
            Deployment.progress,
            Deployment.attempts,
            Deployment.last_message,
            action,
            Deployment.wave,
            Deployment.scheduled_at,
            Deployment.started_at,
            Deployment.finished_at,
            Deployment.next_attempt_at,
        )
        .join(Device)
        .order_by(Deployment.run.desc(), Device.name)
    )
    if run_id is not None:
        query = query.where(Deployment.run == run_id)
    # read raw, with the times converted once per distinct value: a run's deployments share a
    # few moments, and converting each through the field took 3/4 of the time on 10,000 rows
    sql, params = query.sql()
    iso = _IsoTimes()
    rows = sql_rows(
        sql,
        params,
        tuple[
            int,
            int,
            str,
            str,
            str | None,
            int,
            int,
            str,
            str,
            int | None,
            _Moment,
            _Moment,
            _Moment,
            _Moment,
        ],
    )
    deployments: list[DeploymentEntry] = [
        {
            "id": d,
            "run": run,
            "device": device,
            "state": state,
            "phase": phase,
            "progress": progress,
            "attempts": attempts,
            "message": message,
            "action": action,
            "wave": wave,
            "scheduled_at": iso(scheduled),
            "started_at": iso(started),
            "finished_at": iso(finished),
            "next_attempt_at": iso(next_attempt),
        }
        for (
            d,
            run,
            device,
            state,
            phase,
            progress,
            attempts,
            message,
            action,
            wave,
            scheduled,
            started,
            finished,
            next_attempt,
        ) in rows
    ]
    return {"runs": run_rows, "deployments": deployments}


def _skipped(run_id: int | None) -> dict[int, list[SkippedEntry]]:
    """Per run, the devices its configuration step skipped (`Target.skipped`: one reason per
    device, on each of its targets)."""
    query = (
        Target.select(Target.run, Device.name, Target.skipped)
        .distinct()
        .join(Device)
        .where(Target.skipped.is_null(False))
        .order_by(Target.run, Device.name)
    )
    if run_id is not None:
        query = query.where(Target.run == run_id)
    found: dict[int, list[SkippedEntry]] = {}
    for run, device, why in tuples(query, tuple[int, str, str]):
        found.setdefault(run, []).append({"device": device, "why": why})
    return found


class _RunDecisions(TypedDict):
    strategy: StrategyEntry | None
    wave: WaveEntry | None
    paused: PausedEntry | None
    aborted: DecisionEntry | None


def _decisions(run: UpdateRun) -> _RunDecisions:
    """A run's strategy, where its waves are, and what people decided about it."""
    stored = run.strategy
    strategy: StrategyEntry | None = None
    if stored is not None:
        strategy = {
            "waves": wave_sizes(stored),
            "soak_minutes": stored["soak_minutes"],
            "max_failures_percent": stored["max_failures_percent"],
        }
    progress = wave_progress(run)
    wave: WaveEntry | None = None
    if progress is not None:
        next_at = progress.next_at.isoformat() if progress.next_at else None
        wave = {"current": progress.current, "total": progress.total, "next_at": next_at}
    paused: PausedEntry | None = None
    if run.paused_at is not None:
        paused = {
            "at": run.paused_at.isoformat(),
            "by": run.paused_by or "",
            "reason": run.pause_reason or "",
        }
    aborted: DecisionEntry | None = None
    if run.aborted_at is not None:
        aborted = {"at": run.aborted_at.isoformat(), "by": run.aborted_by or ""}
    return {"strategy": strategy, "wave": wave, "paused": paused, "aborted": aborted}


class Approver(TypedDict):
    approved_by: str | None
    approved_at: str | None


def approver_of(run: UpdateRun) -> Approver:
    """Who approved the run and when: the one who recorded it, or, under the second-approver
    policy, the second person once they approved (nobody before, nor after a rejection)."""
    if run.approval is None:
        return {"approved_by": run.approved_by, "approved_at": run.approved_at.isoformat()}
    if run.approval == Approval.APPROVED and run.decided_at is not None:
        return {"approved_by": run.decided_by, "approved_at": run.decided_at.isoformat()}
    return {"approved_by": None, "approved_at": None}


def _approval(run: UpdateRun, now: datetime) -> ApprovalEntry | None:
    if run.approval is None:
        return None

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "state": shown_approval(run.approval, run.expires_at, now) or run.approval,
        "requested_by": run.requested_by or "",
        "requested_at": iso(run.requested_at),
        "expires_at": iso(run.expires_at),
        "decided_by": run.decided_by,
        "decided_at": iso(run.decided_at),
        "note": run.decision_note,
    }


class _IsoTimes:
    """Raw stored times as ISO 8601 in UTC (``2026-11-27T09:00:00+00:00``), each distinct
    value converted once."""

    def __init__(self) -> None:
        self.seen: dict[str | datetime, str] = {}

    def __call__(self, raw: _Moment) -> str | None:
        if raw is None:
            return None
        text = self.seen.get(raw)
        if text is None:
            moment = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            text = self.seen[raw] = moment.astimezone(UTC).isoformat()
        return text


def _run_decisions_text(run: RunEntry) -> str:
    """`, wave 2 of 4, paused: 1 of 1 failed in wave 1, limit 10 %` (what applies)."""
    parts = []
    wave = run["wave"]
    if wave is not None:
        parts.append(f"wave {wave['current']} of {wave['total']}")
        if wave["next_at"] is not None:
            parts.append(f"next wave at {wave['next_at'][11:16]} UTC")
    approval = run["approval"]
    if approval is not None and approval["state"] == "awaiting" and run["aborted"] is None:
        until = (approval["expires_at"] or "")[:16].replace("T", " ")
        parts.append(f"asked by {approval['requested_by']}, until {until} UTC")
    elif approval is not None and approval["decided_by"] not in (None, EXPIRED_BY):
        note = f": {approval['note']}" if approval["note"] else ""
        parts.append(f"{approval['state']} by {approval['decided_by']}{note}")
    if run["aborted"] is not None:
        parts.append(f"aborted by {run['aborted']['by']}")
    elif run["paused"] is not None:
        parts.append(f"paused: {run['paused']['reason']}")
    return "".join(f", {part}" for part in parts)


_SKIPPED_SHOWN = 5  # a run's devices left as they are, named in the text


def status_text(document: StatusDocument) -> Iterator[str]:
    if not document["runs"]:
        yield "no update runs yet\n"
        return
    for run in document["runs"]:
        counts = ", ".join(f"{n} {state}" for state, n in run["counts"].items()) or "no deployments"
        why = f" ({run['reason']})" if run["reason"] else ""
        approved = run["approved_at"]
        by = (
            f"{run['approved_by']}, {approved[:16].replace('T', ' ')} UTC"
            if approved is not None
            else f"asked by {run['approval']['requested_by'] if run['approval'] else '?'}"
        )
        yield (
            f"run {run['id']}{why} ({by}): {run['status']}{_run_decisions_text(run)} — {counts}\n"
        )
        for entry in run["skipped"][:_SKIPPED_SHOWN]:
            yield f"  left as it is: {entry['device']} — {entry['why']}\n"
        if len(run["skipped"]) > _SKIPPED_SHOWN:
            more = len(run["skipped"]) - _SKIPPED_SHOWN
            yield f"  … and {more:,} more left as they are (status --json lists them)\n"
    shown = [d for d in document["deployments"] if d["state"] not in ("succeeded",)]
    if shown:
        yield "\n"
        for d in shown[:200]:
            phase = f" {d['phase']} {d['progress']}%" if d["state"] == "running" else ""
            message = f" — {d['message']}" if d["message"] else ""
            yield f"  #{d['id']} run {d['run']} {d['device']}: {d['state']}{phase}{message}\n"
        if len(shown) > 200:
            yield f"  … and {len(shown) - 200} more\n"
