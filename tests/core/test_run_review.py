"""The review of a recorded run: what approving it does, per device, as Finalize showed it —
for the second approver, who never saw the wizard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appupdater.core import approvals
from appupdater.core.along import ALONG_NOTE
from appupdater.core.planning import ChangeOp, Selection, plan_update
from appupdater.core.run_review import review_run
from appupdater.core.runs import DeviceAction, create_run
from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.store.models import AppVersion, DeployAction, Device, DeviceApp
from tests.identities import act_as

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def _id(name: str) -> int:
    return Device.get(Device.name == name).id


def test_an_awaiting_run_is_reviewed_as_finalize_showed_it(three_presses, monkeypatch):
    """press-01 deploys now and also pushes edge-gateway 3.10 (configured earlier); press-02 is
    configured ahead of what it runs (the deployment starts from what it runs); press-03 gets
    the configuration only."""
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin")
    act_as(monkeypatch, "alice")
    press_01, press_03 = _id("press-01"), _id("press-03")
    gateway_310 = AppVersion.get(AppVersion.version == "3.10")
    DeviceApp.update(configured=gateway_310.id).where(
        (DeviceApp.device == press_01) & (DeviceApp.application == gateway_310.application)
    ).execute()
    run_id = create_run(
        plan_update([Selection("line-monitor", "2.0.0")]),
        {press_03: DeviceAction(DeployAction.NONE)},
        approved_by="alice",
        now=NOW,
    )
    review = review_run(run_id)
    assert [d.name for d in review.devices] == ["press-01", "press-02", "press-03"]
    p1, p2, p3 = review.devices
    assert [(a.application, a.start, a.end, a.note) for a in p1.apps] == [
        ("line-monitor", "1.0.0", "2.0.0", ""),
        ("edge-gateway", "3.9", "3.10", ALONG_NOTE),
    ]
    assert [(c.module, c.op) for c in p1.apps[1].changes] == [("broker", ChangeOp.MODIFIED)]
    # configured 1.5.0, running 1.0.0: deployed, from what it runs
    assert (p2.apps[0].start, p2.action) == ("1.0.0", DeployAction.NOW)
    # configuration only: the configuration's change, nothing pushed along
    assert (p3.action, [a.application for a in p3.apps]) == (DeployAction.NONE, ["line-monitor"])
    assert review.summary() == (
        "line-monitor → 2.0.0 on 3 devices; 1 device also gets other applications configured "
        "earlier and not on it yet (edge-gateway on 1 device)"
    )
    # approving does what the review said: press-01's job carries edge-gateway 3.10
    act_as(monkeypatch, "bob")
    approvals.approve(run_id, now=NOW)
    configured = DeviceApp.get(
        (DeviceApp.device == press_01) & (DeviceApp.application == gateway_310.application)
    ).configured_id
    assert configured == gateway_310.id


def test_an_unknown_run_reviews_empty(three_presses):
    review = review_run(999)
    assert (review.devices, review.summary()) == ([], "no device changes")
