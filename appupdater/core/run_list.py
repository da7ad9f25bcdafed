"""Which runs the Deployment Overview lists: by default the recent ones and every unfinished
one, older ones through a filter of time, state and words. Each query is bounded by the runs it
names or by the work still open, never by the age of the database: history grows for years."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee

from appupdater.store.models import (
    OPEN_STATES,
    Application,
    Approval,
    Deployment,
    DeploymentState,
    RunApplication,
    UpdateRun,
)
from appupdater.store.rows import tuples


class RunState(enum.StrEnum):
    """The state filter of the run list."""

    ANY = "any state"
    IN_PROGRESS = "in progress"
    FINISHED = "finished"
    FAILURES = "with failures"
    PAUSED = "paused"  # by an administrator or by its failure limit, not resumed yet
    AWAITING_APPROVAL = "awaiting approval"  # by a second person (core/approvals.py)


# the time filter: (label, days back; None for all time)
PERIODS: tuple[tuple[str, int | None], ...] = (
    ("Last 7 days", 7),
    ("Last 30 days", 30),
    ("Last 12 months", 365),
    ("All time", None),
)


@dataclass(frozen=True)
class RunFilter:
    """What the run list shows: runs approved in the last `days` (None: all time) and every
    unfinished run, in `state`, matching `text` (a run number, an approver, an application)."""

    days: int | None = 7
    state: RunState = RunState.ANY
    text: str = ""

    @property
    def default(self) -> bool:
        return self == RunFilter()


def unfinished_runs() -> set[int]:
    """Runs not configured yet (and not rejected or expired), or with open work: a probe of the
    (run, state) index per run, so the cost is the number of runs, neither the history's
    deployments nor the open ones (a rollout in flight has 100,000)."""
    open_work = Deployment.select(Deployment.id).where(
        (Deployment.run == UpdateRun.id) & Deployment.state.in_(list(OPEN_STATES))
    )
    # a run rejected or expired is never configured: it has ended
    may_be_configured = UpdateRun.approval.is_null() | UpdateRun.approval.in_(
        [Approval.AWAITING.value, Approval.APPROVED.value]
    )
    query = UpdateRun.select(UpdateRun.id).where(
        (UpdateRun.configured_at.is_null() & may_be_configured) | peewee.fn.EXISTS(open_work)
    )
    return {run for (run,) in tuples(query, tuple[int])}


def listed_runs(spec: RunFilter, now: datetime) -> list[int]:
    """The ids of the runs `spec` lists, newest first."""
    unfinished = list(unfinished_runs())
    query = UpdateRun.select(UpdateRun.id).order_by(UpdateRun.id.desc())
    if spec.days is not None:
        recent = UpdateRun.approved_at >= now - timedelta(days=spec.days)
        query = query.where(recent | UpdateRun.id.in_(unfinished))
    if spec.state == RunState.IN_PROGRESS:
        query = query.where(UpdateRun.id.in_(unfinished))
    elif spec.state == RunState.FINISHED:
        query = query.where(UpdateRun.id.not_in(unfinished))
    elif spec.state == RunState.FAILURES:
        failed = Deployment.select(Deployment.id).where(
            (Deployment.run == UpdateRun.id) & (Deployment.state == DeploymentState.FAILED)
        )
        query = query.where(peewee.fn.EXISTS(failed))  # by the (run, state) index, per run
    elif spec.state == RunState.AWAITING_APPROVAL:
        query = query.where(UpdateRun.approval == Approval.AWAITING.value)
    elif spec.state == RunState.PAUSED:
        # waiting for a decision: paused, not aborted, and something of it has not ended
        query = query.where(
            UpdateRun.paused_at.is_null(False)
            & UpdateRun.aborted_at.is_null()
            & UpdateRun.id.in_(unfinished)
        )
    words = spec.text.strip()
    if words:
        by_app = (
            RunApplication.select(RunApplication.run)
            .join(Application)
            .where(Application.name.contains(words))
        )
        matches = UpdateRun.approved_by.contains(words) | UpdateRun.id.in_(by_app)
        number = words.removeprefix("#").strip()
        if number.isdigit():
            matches |= UpdateRun.id == int(number)
        query = query.where(matches)
    return [run for (run,) in tuples(query, tuple[int])]
