"""The second approver: with the team's policy on (core/team_settings.approval_policy), a run
the wizard or `update --yes` records waits for another person's decision before anything is
configured or deployed (see docs/approval.md).

- `create_run` asks `request()` what to store: None (policy off: recording the run is its
  approval) or an awaiting request with who asked, when, and when it expires.
- `approve` / `reject` are decided by anyone but the requester (identity.who().user); a
  rejection needs a note. Approval applies the configuration in the same transaction, and only
  then; a deployment scheduled at a time that has passed meanwhile is refused by name, unless
  the approver asks to deploy those devices now instead.
- `expire_due` (an engine step, and the start of every decision) turns undecided requests past
  their time into "expired": a conditional update per run, so with several engines each expiry
  is recorded once. Reading (overview, status) shows a request past its time as expired before
  an engine has written it.

Each decision leaves one audit entry in its transaction (an expiry's user is the engine's); a
decision refused (the requester's own, an expired request…) leaves one saying so, in its own
transaction (docs/audit.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import peewee

from appupdater.core import audit
from appupdater.core.identity import who
from appupdater.core.team_settings import approval_policy
from appupdater.core.words import plural
from appupdater.errors import RunError
from appupdater.store.db import writing
from appupdater.store.fields import utcnow
from appupdater.store.models import Approval, DeployAction, Device, Target, UpdateRun
from appupdater.store.rows import tuples

if TYPE_CHECKING:
    from appupdater.core.runs import Applied

EXPIRED_BY = "expiry"  # `decided_by` of a request nobody decided in time


@dataclass(frozen=True)
class Request:
    """What a run awaiting approval stores (the `UpdateRun` columns of schema 13)."""

    requested_by: str
    requested_at: datetime
    expires_at: datetime

    def columns(self) -> dict[str, object]:
        return {
            "approval": Approval.AWAITING.value,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at,
            "expires_at": self.expires_at,
        }


def request(now: datetime) -> Request | None:
    """The request a new run records under the team's policy; None when it needs none."""
    policy = approval_policy()
    if not policy.second_approver:
        return None
    return Request(who().user, now, now + policy.expires_after)


def shown_approval(approval: str | None, expires_at: datetime | None, now: datetime) -> str | None:
    """A run's approval as people should read it now: an awaiting request past its time is
    expired even before an engine recorded it."""
    if approval == Approval.AWAITING and expires_at is not None and expires_at <= now:
        return Approval.EXPIRED.value
    return approval


def expire_due(now: datetime | None = None) -> list[int]:
    """Record every undecided request past its time as expired; the runs this call expired (an
    expiry another engine recorded first is not in it)."""
    now = now or utcnow()
    # an aborted request is not waiting for anyone: it does not expire (nor notify so)
    due = _awaiting() & (UpdateRun.expires_at <= now) & UpdateRun.aborted_at.is_null()
    if not UpdateRun.select(UpdateRun.id).where(due).limit(1).exists():
        return []  # the common case, answered without taking the write lock
    expired = []
    with writing():
        query = UpdateRun.select(UpdateRun.id, UpdateRun.requested_by).where(due)
        for run_id, asked_by in tuples(query, tuple[int, str]):
            if _decide(run_id, Approval.EXPIRED, EXPIRED_BY, now, None):
                expired.append(run_id)
                note = f"expired: nobody approved or rejected it in time (asked by {asked_by})"
                audit.record(
                    audit.EXPIRE, objects={"runs": [run_id]}, run=run_id, note=note, now=now
                )
    return expired


def approve(
    run_id: int, *, note: str = "", now: datetime | None = None, deploy_now_instead: bool = False
) -> Applied:
    """Approve a run awaiting approval and apply its configuration (one transaction). Raises
    `RunError` in words: no such run, not awaiting (decided, expired), the requester's own
    approval, or deployments scheduled at a time that has passed (unless `deploy_now_instead`,
    which deploys those devices now)."""
    now = now or utcnow()
    user = who().user
    expire_due(now)
    note = note.strip()
    with audit.refusing(audit.APPROVE, objects={"runs": [run_id]}, note=note, run=run_id, now=now):
        return _approve(run_id, user, note, now, deploy_now_instead)


def _approve(run_id: int, user: str, note: str, now: datetime, deploy_now_instead: bool) -> Applied:
    from appupdater.core.runs import apply_configuration  # runs asks `request` of this module

    with writing():
        run = _awaiting_run(run_id, user, "approve")
        passed = late(run_id, now)
        if passed and not deploy_now_instead:
            shown = ", ".join(f"{name} ({_local(at)})" for name, at in passed[:5])
            more = f" and {len(passed) - 5} more" if len(passed) > 5 else ""
            raise RunError(
                f"run #{run_id} was not approved: the deployment time has passed for {shown}"
                f"{more}. Approve it with deploy now instead (`--deploy-now-instead`), or reject"
                " it and plan the run again."
            )
        objects: dict[str, list[int | str]] = {"runs": [run_id]}
        if passed:
            Target.update(action=DeployAction.NOW.value, scheduled_at=None).where(
                (Target.run == run_id)
                & (Target.action == DeployAction.AT.value)
                & (Target.scheduled_at <= now)  # only the late ones: a later time stands
            ).execute()
            objects["devices"] = [name for name, _ in passed]  # deployed now instead
        if not _decide(run.id, Approval.APPROVED, user, now, note or None):
            raise RunError(f"run #{run_id} was decided by someone else at the same moment")
        applied = apply_configuration(run_id, now)
        shown = note
        if passed:
            instead = (
                f"{plural(len(passed), 'device')} deployed now instead of at their passed time"
            )
            shown = f"{note}; {instead}" if note else instead
        if applied.skipped:
            left = (
                f"{plural(applied.skipped, 'device')} left as "
                f"{'it is' if applied.skipped == 1 else 'they are'}: configured later than the "
                "run's version since the request"
            )
            shown = f"{shown}; {left}" if shown else left
        audit.record(audit.APPROVE, objects=objects, run=run_id, note=shown, now=now)
        return applied


def reject(run_id: int, *, note: str, now: datetime | None = None) -> None:
    """Reject a run awaiting approval, with a note saying why: it is never configured."""
    now = now or utcnow()
    note = note.strip()
    with audit.refusing(audit.REJECT, objects={"runs": [run_id]}, note=note, run=run_id, now=now):
        if not note:
            raise RunError(f"run #{run_id} was not rejected: say why in a note")
        user = who().user
        expire_due(now)
        with writing():
            run = _awaiting_run(run_id, user, "reject")
            if not _decide(run.id, Approval.REJECTED, user, now, note):
                raise RunError(f"run #{run_id} was decided by someone else at the same moment")
            audit.record(audit.REJECT, objects={"runs": [run_id]}, run=run_id, note=note, now=now)


def may_decide(run: UpdateRun, user: str, now: datetime) -> bool:
    """Whether `user` may approve or reject `run` now (the overview's toolbar)."""
    shown = shown_approval(run.approval, run.expires_at, now)
    return shown == Approval.AWAITING and run.aborted_at is None and run.requested_by != user


def _awaiting() -> peewee.Expression:
    return UpdateRun.approval == Approval.AWAITING.value


def _awaiting_run(run_id: int, user: str, verb: str) -> UpdateRun:
    run = UpdateRun.get_or_none(UpdateRun.id == run_id)
    if run is None:
        raise RunError(f"there is no run #{run_id}")
    if run.approval is None:
        raise RunError(
            f"run #{run_id} does not need approval: it was approved when it was recorded "
            f"(by {run.approved_by}, {_local(run.approved_at)})"
        )
    if run.approval != Approval.AWAITING:
        by = "" if run.decided_by == EXPIRED_BY else f" by {run.decided_by}"
        raise RunError(
            f"run #{run_id} is {run.approval}{by} ({_local(run.decided_at)}): "
            f"it can no longer be decided"
        )
    if run.aborted_at is not None:
        raise RunError(f"run #{run_id} was aborted by {run.aborted_by}: there is nothing to {verb}")
    if run.requested_by == user:
        raise RunError(
            f"you ({user}) asked for run #{run_id}: a second person must {verb} it, "
            "never the one who asked"
        )
    return run


def _decide(run_id: int, to: Approval, by: str, now: datetime, note: str | None) -> bool:
    """Move an awaiting run to `to`, if it still awaits (inside the caller's transaction)."""
    return bool(
        UpdateRun.update(approval=to.value, decided_by=by, decided_at=now, decision_note=note)
        .where((UpdateRun.id == run_id) & _awaiting())
        .execute()
    )


def late(run_id: int, now: datetime) -> list[tuple[str, datetime]]:
    """The run's devices scheduled at a time not after `now`, by name."""
    query = (
        Target.select(Device.name, Target.scheduled_at)
        .join(Device)
        .where(
            (Target.run == run_id)
            & (Target.action == DeployAction.AT.value)
            & (Target.scheduled_at <= now)
        )
        .distinct()
        .order_by(Device.name)
    )
    return list(tuples(query, tuple[str, datetime]))


def _local(moment: datetime | None) -> str:
    return f"{moment.astimezone():%Y-%m-%d %H:%M}" if moment else "?"
