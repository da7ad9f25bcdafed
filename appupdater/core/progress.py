"""Where runs stand, derived from their deployments (never stored): a run's status, whether
it has ended, and what is under way across all runs."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee

from appupdater.store.models import OPEN_STATES, Deployment, DeploymentState, UpdateRun
from appupdater.store.rows import scalar, tuples

S = DeploymentState


class RunStatus(enum.StrEnum):
    """A run's status, derived from its deployments' states."""

    CONFIGURING = "configuring"
    IN_PROGRESS = "in progress"
    CANCELLED = "cancelled"
    COMPLETED_WITH_FAILURES = "completed with failures"
    COMPLETED = "completed"
    # a run the team's second approver has not approved (core/approvals.py): nothing configured
    AWAITING_APPROVAL = "awaiting approval"
    REJECTED = "rejected"
    APPROVAL_EXPIRED = "approval expired"


# A run's `approval` (shown as of now: see approvals.shown_approval) → its status until approved.
UNAPPROVED_STATUS = {
    "awaiting": RunStatus.AWAITING_APPROVAL,
    "rejected": RunStatus.REJECTED,
    "expired": RunStatus.APPROVAL_EXPIRED,
}


def run_counts(run_id: int | None = None) -> dict[int, dict[str, int]]:
    """Deployments per state, per run (of one run, or all)."""
    query = Deployment.select(Deployment.run, Deployment.state, peewee.fn.COUNT(Deployment.id))
    if run_id is not None:
        query = query.where(Deployment.run == run_id)
    counts: dict[int, dict[str, int]] = {}
    grouped = query.group_by(Deployment.run, Deployment.state)
    for run, state, number in tuples(grouped, tuple[int, str, int]):
        counts.setdefault(run, {})[state] = number
    return counts


def run_status(
    configured: bool, counts: Mapping[str, int], approval: str | None = None
) -> RunStatus:
    """A run's status from whether its configuration was applied and its deployments' states
    (and, not yet configured, whether it waits for a second approver or never will be).
    Deployments are created when the configuration is applied, so a run that has any is
    configured, whatever an earlier read of `configured` said."""
    if not configured and not any(counts.values()):
        return UNAPPROVED_STATUS.get(approval or "", RunStatus.CONFIGURING)
    if any(counts.get(s, 0) for s in OPEN_STATES):
        return RunStatus.IN_PROGRESS
    total = sum(counts.values())
    if total and counts.get(S.CANCELLED, 0) == total:
        return RunStatus.CANCELLED
    if counts.get(S.FAILED, 0):
        return RunStatus.COMPLETED_WITH_FAILURES
    return RunStatus.COMPLETED


@dataclass(frozen=True)
class RunEnd:
    """Whether every deployment of a run has ended, and how many succeeded and failed."""

    ended: bool
    succeeded: int = 0
    failed: int = 0


def run_end(run_id: int) -> RunEnd:
    """Cheap while the run goes on: one indexed look for a deployment still open."""
    open_work = (
        Deployment.select(Deployment.id)
        .where((Deployment.run == run_id) & Deployment.state.in_(list(OPEN_STATES)))
        .limit(1)
    )
    if open_work.exists():
        return RunEnd(False)
    configured_at = UpdateRun.select(UpdateRun.configured_at).where(UpdateRun.id == run_id)
    configured = scalar(configured_at, datetime) is not None
    counts = run_counts(run_id).get(run_id, {})
    return RunEnd(configured, counts.get(S.SUCCEEDED, 0), counts.get(S.FAILED, 0))


@dataclass(frozen=True)
class Activity:
    """What the tray tells: work under way, and failures of the last day."""

    running: int
    waiting: int  # queued or retrying
    scheduled: int
    failed_recently: int


def state_counts(states: Iterable[DeploymentState]) -> dict[DeploymentState, int]:
    """How many deployments of all runs are in each of `states` (one grouped, indexed read)."""
    wanted = list(states)
    counts = dict.fromkeys(wanted, 0)
    query = (
        Deployment.select(Deployment.state, peewee.fn.COUNT(Deployment.id))
        .where(Deployment.state.in_(wanted))
        .group_by(Deployment.state)
    )
    for state, number in tuples(query, tuple[str, int]):
        counts[S(state)] = number
    return counts


def current_activity(now: datetime, recent: timedelta = timedelta(hours=24)) -> Activity:
    """What is running, waiting and scheduled now, and what failed within `recent`."""
    counts = state_counts(OPEN_STATES)
    failed = (
        Deployment.select()
        .where((Deployment.state == S.FAILED) & (Deployment.finished_at >= now - recent))
        .count()
    )
    return Activity(
        counts[S.RUNNING], counts[S.QUEUED] + counts[S.RETRYING], counts[S.SCHEDULED], failed
    )
