"""The second approver sees what a run does before deciding: Approve… and Reject… open on the
run's devices with their module changes and what each deployment also pushes."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.store.models import UpdateRun
from appupdater.ui.overview.approval_acting import DecisionDialog
from appupdater.ui.overview.review_view import ALONG_SHORT, SHOWN
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
