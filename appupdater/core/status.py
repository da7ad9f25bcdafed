"""Runs and deployments with their states, for `appupdater status` and scripts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from appupdater.core.progress import RunStatus, run_counts, run_status
from appupdater.store.models import Deployment, Device, UpdateRun
from appupdater.store.rows import tuples


class RunEntry(TypedDict):
    id: int
    status: RunStatus
    approved_by: str
    approved_at: str  # ISO 8601, UTC
    counts: dict[str, int]  # deployments per state


class DeploymentEntry(TypedDict):
    id: int
    run: int
    device: str
    state: str
    phase: str | None
    progress: int
    attempts: int
    message: str


class StatusDocument(TypedDict):
    """What `appupdater status --json` prints."""

    runs: list[RunEntry]
    deployments: list[DeploymentEntry]


def status_document(run_id: int | None = None) -> StatusDocument:
    """``{"runs": [{id, status, counts}], "deployments": [{id, run, device, state, phase,
    progress, attempts, message}]}``, newest run first, deployments by run and device."""
    runs = UpdateRun.select(
        UpdateRun.id, UpdateRun.configured_at, UpdateRun.approved_at, UpdateRun.approved_by
    ).order_by(UpdateRun.id.desc())
    if run_id is not None:
        runs = runs.where(UpdateRun.id == run_id)
    counts = run_counts(run_id)
    run_rows: list[RunEntry] = [
        {
            "id": r.id,
            "status": run_status(r.configured_at is not None, counts.get(r.id, {})),
            "approved_by": r.approved_by,
            "approved_at": r.approved_at.isoformat(),
            "counts": dict(sorted(counts.get(r.id, {}).items())),
        }
        for r in runs
    ]
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
        )
        .join(Device)
        .order_by(Deployment.run.desc(), Device.name)
    )
    if run_id is not None:
        query = query.where(Deployment.run == run_id)
    rows = tuples(query, tuple[int, int, str, str, str | None, int, int, str])
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
        }
        for d, run, device, state, phase, progress, attempts, message in rows
    ]
    return {"runs": run_rows, "deployments": deployments}


def status_text(document: StatusDocument) -> Iterator[str]:
    if not document["runs"]:
        yield "no update runs yet\n"
        return
    for run in document["runs"]:
        counts = ", ".join(f"{n} {state}" for state, n in run["counts"].items()) or "no deployments"
        when = run["approved_at"][:16].replace("T", " ")
        yield f"run {run['id']} ({run['approved_by']}, {when} UTC): {run['status']} — {counts}\n"
    shown = [d for d in document["deployments"] if d["state"] not in ("succeeded",)]
    if shown:
        yield "\n"
        for d in shown[:200]:
            phase = f" {d['phase']} {d['progress']}%" if d["state"] == "running" else ""
            message = f" — {d['message']}" if d["message"] else ""
            yield f"  #{d['id']} run {d['run']} {d['device']}: {d['state']}{phase}{message}\n"
        if len(shown) > 200:
            yield f"  … and {len(shown) - 200} more\n"
