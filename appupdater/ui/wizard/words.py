"""How the wizard says counts, a device's pending deployment of an earlier run, and a run
recorded awaiting a second approver."""

from __future__ import annotations

from datetime import datetime, timedelta

from appupdater.core.pending import PendingDeployment
from appupdater.core.planning import Plan
from appupdater.store.models import DeployAction, DeploymentState, UpdateRun
from appupdater.ui.timefmt import local_text

S = DeploymentState


def when_text(moment: datetime, now: datetime) -> str:
    """A moment in local time: "17:00" on the day of `now`, "tomorrow 17:00" on the next,
    else date and time."""
    local = moment.astimezone()
    days = (local.date() - now.astimezone().date()).days
    if days == 0:
        return local.strftime("%H:%M")
    if days == 1:
        return local.strftime("tomorrow %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def pending_text(pending: PendingDeployment, now: datetime) -> str:
    """ "scheduled 17:00 in run #1", "queued in run #1", "deploying now in run #1"."""
    run = f"in run #{pending.run_id}"
    if pending.state is S.RUNNING:
        return f"deploying now {run}"
    if pending.state is S.QUEUED or pending.at is None:
        return f"{pending.state.value} {run}"
    return f"{pending.state.value} {when_text(pending.at, now)} {run}"


def deploys(action: DeployAction) -> bool:
    return action is not DeployAction.NONE


def pending_effect(pending: PendingDeployment, action: DeployAction, now: datetime) -> str:
    """What becomes of the pending deployment with this run's `action`, on one short line."""
    text = pending_text(pending, now)
    if pending.state is S.RUNNING:
        return f"{text} → this run's follows it" if deploys(action) else text
    if deploys(action):
        return f"{text} → replaced by this run"
    return f"{text} → stays, pushes this update too"


def pending_effect_tip(pending: PendingDeployment, action: DeployAction, now: datetime) -> str:
    """The same in full sentences, for a tooltip."""
    text = pending_text(pending, now)
    start = f"This device has a deployment of an earlier run: {text}."
    if pending.state is S.RUNNING:
        if deploys(action):
            return (
                f"{start} It is not interrupted: this run's deployment waits for it, then starts."
            )
        return (
            f"{start} It is not interrupted. This run does not deploy, so the device gets the "
            "new configuration at its next deployment."
        )
    if deploys(action):
        return (
            f"{start} This run's deployment replaces it (it ends cancelled, superseded): a "
            "deployment pushes the device's whole configuration."
        )
    return (
        f"{start} This run does not deploy, so that deployment stays; it pushes the device's "
        "whole configuration, this update included."
    )


def plan_title(plan: Plan) -> str:
    """What a precomputed plan does, as a title: "Roll back run #12", "Revert press-01 to
    revision 3"; else its reason, capitalised."""
    if plan.rollback_of is not None:
        return f"Roll back run #{plan.rollback_of}"
    reason = plan.reason or "update"
    devices = plan.devices()
    if reason.startswith("revert ") and len(devices) == 1:
        return f"Revert {devices[0].name} {reason.removeprefix('revert ')}"
    return reason[:1].upper() + reason[1:]


def hours_text(span: timedelta) -> str:
    """`24 h`, `1.5 h`."""
    return f"{span.total_seconds() / 3600:g} h"


def awaiting_text(run_id: int) -> str:
    """What the wizard says of a run it recorded awaiting approval."""
    run = UpdateRun.get_by_id(run_id)
    return (
        f"Update run #{run_id} is awaiting approval by a second person (not {run.requested_by}) "
        f"until {local_text(run.expires_at)}. Nothing is configured or deployed before.\n\n"
        "Another user approves or rejects it in the Deployment Overview, or with "
        f"`appupdater approve --run {run_id}`."
    )
