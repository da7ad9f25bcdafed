"""The second approver sees what a run does before deciding: Approve… and Reject… open on the
run's devices with their module changes and what each deployment also pushes."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.store.models import (
    ConfigRevision,
    Deployment,
    Device,
    DeviceApp,
    Target,
    UpdateRun,
)
from appupdater.ui.overview.approval_acting import DecisionDialog
from appupdater.ui.overview.review_view import ALONG_SHORT, SHOWN, SKIPPED_SHORT
from tests.helpers import devices_yaml, load_yaml
from tests.identities import act_as
from tests.ui.drive import click_action
from tests.ui.test_overview import approve
from tests.ui.test_overview_approval import overview_as


def _tree_rows(tree, top):
    device = tree.topLevelItem(top)
    return [
        tuple(device.child(i).text(c) for c in (0, 2, 3, 4)) for i in range(device.childCount())
    ]


def test_the_approver_reviews_what_the_run_does(qtbot, demo_fleet, engine, monkeypatch, screenshot):
    load_yaml(
        devices_yaml(
            "{name: agv-91, site: Hall 2, applications: "
            "{line-monitor: {configured: '1.0.0', installed: '1.0.0'}, "
            "edge-gateway: {configured: '4.0.0', installed: '3.6.0'}}}"
        )
    )
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin")
    act_as(monkeypatch, "alice")
    run_id = approve(("line-monitor",), scheduled=2)
    window = overview_as(qtbot, engine, monkeypatch, "bob")
    seen: list[DecisionDialog] = []

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, DecisionDialog):
            QTimer.singleShot(25, look)
            return
        seen.append(dialog)
        review = dialog.review
        qtbot.keyClicks(review.search, "agv-91")
        seen.append(_tree_rows(review.tree, 0))
        seen.append(review.summary.text())
        review.search.clear()
        seen.append(review.tree.topLevelItemCount())
        screenshot(dialog, "overview-approve-review")
        dialog.reject()

    try:
        QTimer.singleShot(0, look)
        click_action(qtbot, window, window.approval.approve)
        qtbot.waitUntil(lambda: len(seen) == 4)
        _, rows, summary, shown = seen
        assert rows[0][0] == "line-monitor" and rows[0][1] == "1.0.0"
        assert rows[1] == ("edge-gateway", "3.6.0", "4.0.0", ALONG_SHORT)
        assert "line-monitor → " in summary and "edge-gateway on 1 device" in summary
        assert 0 < shown <= SHOWN
        # looking decided nothing
        assert UpdateRun.get_by_id(run_id).approval == "awaiting"
    finally:
        window.close()


def test_a_device_moved_past_the_request_is_shown_left_alone_and_approving_skips_it(
    qtbot, demo_fleet, engine, monkeypatch, screenshot
):
    """alice asks for line-monitor 2.0.0 on agv-10 and agv-91; before bob decides, an import
    configures agv-91 2.1.0. The review lists agv-91 first and says approving leaves it as it
    is (not a downgrade 2.1.0 → 2.0.0); approving writes no downgrade and no deployment for it,
    and agv-10 proceeds as requested."""
    load_yaml(
        devices_yaml(
            *(
                f"{{name: {name}, site: Hall 2, applications: "
                "{line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}"
                for name in ("agv-10", "agv-91")
            )
        )
    )
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin")
    act_as(monkeypatch, "alice")
    ids = {d.name: d.id for d in Device.select().where(Device.name.startswith("agv-"))}
    agv = ids["agv-91"]
    plan = plan_update([Selection("line-monitor", "2.0.0")])
    run_id = create_run(plan, approved_by="alice", devices=list(ids.values()))
    load_yaml(
        devices_yaml(
            "{name: agv-91, site: Hall 2, applications: {line-monitor: {configured: '2.1.0'}}}"
        ),
        file="hall-2.yaml",
    )
    window = overview_as(qtbot, engine, monkeypatch, "bob")
    seen: list = []

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, DecisionDialog):
            QTimer.singleShot(25, look)
            return
        review = dialog.review
        qtbot.waitUntil(lambda: review.tree.topLevelItemCount() == 2)
        device, other = review.tree.topLevelItem(0), review.tree.topLevelItem(1)
        seen.append((device.text(0), device.text(4), device.child(0).text(0)))
        seen.append((other.text(0), other.text(4), _tree_rows(review.tree, 1)[0][:3]))
        seen.append(review.summary.text())
        screenshot(dialog, "overview-approve-review-moved-past")
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)

    try:
        QTimer.singleShot(0, look)
        click_action(qtbot, window, window.approval.approve)
        qtbot.waitUntil(lambda: len(seen) == 3)
        (name, shown, reason), other, summary = seen
        assert (name, shown) == ("agv-91 (Hall 2)", SKIPPED_SHORT)
        assert reason == (
            "Changed since the request: line-monitor is configured 2.1.0, later than the run's "
            "2.0.0; approving leaves it as it is."
        )
        assert other[0] == "agv-10 (Hall 2)" and other[1].startswith("Deploy now")
        assert other[2] == ("line-monitor", "1.0.0", "2.0.0")
        assert "line-monitor → 2.0.0 on 1 device" in summary
        assert "1 device changed since the request is left as it is" in summary
        qtbot.waitUntil(lambda: UpdateRun.get_by_id(run_id).approval == "approved")
    finally:
        window.close()
    # the database: no downgrade, no deployment, the reason on the target; agv-10 proceeds
    row = DeviceApp.get(DeviceApp.device == agv)
    assert row.configured.version == "2.1.0"
    assert DeviceApp.get(DeviceApp.device == ids["agv-10"]).configured.version == "2.0.0"
    deployed = Deployment.select().where(Deployment.run == run_id)
    assert [d.device_id for d in deployed] == [ids["agv-10"]]
    target = Target.get((Target.run == run_id) & (Target.device == agv))
    assert target.skipped.startswith("line-monitor is configured 2.1.0 since the run was planned")
    revised = ConfigRevision.select().where(ConfigRevision.run == run_id)
    assert [r.device_id for r in revised] == [ids["agv-10"]]
