"""Approve Update with the team's second approver on: the question says a second person must
approve first, the run is recorded awaiting approval (nothing configured or deployed), and the
wizard's closing message says who may decide and until when."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtWidgets import QMessageBox, QWizard

from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.store.models import Deployment, DeviceApp, UpdateRun
from tests.identities import act_as
from tests.ui.drive import click_wizard, next_page, open_wizard


def test_approve_update_asks_a_second_person(qtbot, main_window, message_boxes, monkeypatch):
    act_as(monkeypatch, "alice")
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=8)), by="admin")
    configured = [(d.id, d.configured_id) for d in DeviceApp.select().order_by(DeviceApp.id)]
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    message_boxes.answer(QMessageBox.StandardButton.Ok)
    click_wizard(qtbot, wizard, QWizard.WizardButton.FinishButton)
    message_boxes.answer(QMessageBox.StandardButton.Ok)
    with qtbot.waitSignal(wizard.run_created, timeout=10_000) as signal:
        pass
    qtbot.waitUntil(lambda: not wizard.isVisible())
    question, closing = message_boxes.seen
    assert "A second person must approve this run first" in question
    assert "within 8 h" in question and question.endswith("Ask for approval?")
    run_id = signal.args[0]
    assert closing.startswith(
        f"Update run #{run_id} is awaiting approval by a second person (not alice) until "
    )
    assert "Nothing is configured or deployed before." in closing
    run = UpdateRun.get_by_id(run_id)
    assert (run.approval, run.requested_by, run.configured_at) == ("awaiting", "alice", None)
    assert Deployment.select().count() == 0
    assert [
        (d.id, d.configured_id) for d in DeviceApp.select().order_by(DeviceApp.id)
    ] == configured
    # the main window's status bar does not say "approved"
    said = main_window.statusBar().currentMessage()
    assert said.startswith(f"Update run #{run_id} recorded, awaiting a second person's approval")
