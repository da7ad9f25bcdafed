"""How the overview says where a run stands beyond its deployments: its wave ("wave 2 of 4",
"next wave at 15:40" during a soak), a pause with its reason or who paused it, an abort with who
aborted it. Times in the workstation's local time."""

from __future__ import annotations

from datetime import datetime

from appupdater.core.approvals import shown_approval
from appupdater.core.progress import RunStatus
from appupdater.core.rollout import LIMIT, Standing
from appupdater.store.fields import utcnow
from appupdater.store.models import Approval
from appupdater.ui.timefmt import short_local_text


def paused_text(standing: Standing) -> str:
    """ "paused: 2 of 5 failed in wave 1, limit 10 %" (the limit's reason), "paused by alice",
    or "paused by alice: <her reason>"."""
    by, reason = standing.paused_by or "", (standing.pause_reason or "").strip()
    if by == LIMIT:
        return f"paused: {reason}" if reason else "paused by its failure limit"
    if reason and reason != f"paused by {by}":
        return f"paused by {by}: {reason}"
    return f"paused by {by}"


def wave_text(standing: Standing, now: datetime | None = None) -> str:
    """ "wave 2 of 4", and "next wave at 15:40" during a soak ("when resumed" while paused,
    "opening" once its time passed); empty for a run all at once."""
    waves = standing.waves
    if waves is None:
        return ""
    if waves.current == 0:
        text = f"{waves.total} waves, none open yet"
    else:
        text = f"wave {waves.current} of {waves.total}"
    if waves.next_at is not None:
        if standing.paused:  # a soak that ended while paused: the wave waits for the resume
            text += ", next wave when resumed"
        elif waves.next_at <= (now or utcnow()):  # the engine opens it at its next step
            text += ", next wave opening"
        else:
            text += f", next wave at {short_local_text(waves.next_at, now)}"
    return text


def status_text(status: str, standing: Standing | None, now: datetime | None = None) -> str:
    """A run's Status cell: its status from its deployments, and where it stands. A paused or
    aborted run says so first (what people decided outweighs "in progress")."""
    if standing is None:
        return status
    if standing.aborted and standing.approval == Approval.AWAITING:
        return f"aborted by {standing.aborted_by} before anyone approved it"
    approval = approval_text(status, standing, now)
    if approval:
        return approval
    if standing.aborted:
        return f"aborted by {standing.aborted_by} ({status})"
    waves = wave_text(standing, now)
    if standing.paused and not open_work(status):  # ended while paused: how it ended first
        return f"{status} ({paused_text(standing)})"
    if standing.paused:  # the limit's reason names the wave already
        said = waves and standing.paused_by != LIMIT
        return paused_text(standing) + (f" · {waves}" if said else "")
    if waves and status in (RunStatus.IN_PROGRESS, RunStatus.CONFIGURING):
        return f"{status} · {waves}"
    if waves:
        return f"{status} · {plural_waves(standing)}"
    return status


def unapproved(standing: Standing | None) -> bool:
    """Whether the run waits for a second approver or never will be configured (rejected,
    expired): none of the run's own actions (pause, abort …) apply to it."""
    return standing is not None and standing.approval not in (None, Approval.APPROVED)


def approval_text(status: str, standing: Standing, now: datetime | None = None) -> str:
    """ "awaiting approval · asked by alice, until 15:40", "rejected by bob: not now",
    "approval expired (asked by alice)"; empty for a run approved (now or when recorded)."""
    shown = shown_approval(standing.approval, standing.expires_at, now or utcnow())
    if shown == Approval.AWAITING:
        until = short_local_text(standing.expires_at, now) if standing.expires_at else "?"
        return f"{RunStatus.AWAITING_APPROVAL} · asked by {standing.requested_by}, until {until}"
    if shown == Approval.REJECTED:
        note = f": {standing.decision_note}" if standing.decision_note else ""
        return f"{RunStatus.REJECTED} by {standing.decided_by}{note}"
    if shown == Approval.EXPIRED:
        return f"{RunStatus.APPROVAL_EXPIRED} (asked by {standing.requested_by})"
    return ""


def approval_columns(
    approved_at: datetime, approved_by: str, standing: Standing | None
) -> tuple[datetime | None, str]:
    """The run list's Approved and By: when a second approver decided, their time and
    "bob (asked by alice)"; a run not approved (yet) has no approval time and "asked by alice";
    otherwise what the run recorded when it was approved."""
    if standing is None or standing.approval is None:
        return approved_at, approved_by
    asked = f"asked by {standing.requested_by or approved_by}"
    if standing.approval == Approval.APPROVED:
        return standing.decided_at or approved_at, f"{standing.decided_by} ({asked})"
    return None, asked


def open_work(status: str) -> bool:
    """Whether a run with this status still has deployments that have not ended."""
    return status in (RunStatus.IN_PROGRESS, RunStatus.CONFIGURING)


def plural_waves(standing: Standing) -> str:
    total = standing.waves.total if standing.waves else 0
    return "in 1 wave" if total == 1 else f"in {total} waves"
