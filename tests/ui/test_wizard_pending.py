"""Deployments of an earlier run that have not ended, as the wizard shows them, and what this
run does to them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DEPLOY_NOW, DeviceAction, apply_configuration, create_run
from appupdater.store.fields import utcnow
from appupdater.store.models import DeployAction, Deployment, DeploymentState
from appupdater.ui.wizard.checklist_models import ChecklistModel
from appupdater.ui.wizard.deployment_page import ACTION_COLUMN, PENDING_COLUMN
from appupdater.ui.wording import ACTION_TEXT
from tests.ui.conftest import shots_folder
from tests.ui.drive import (
    approve,
    choose_action,
    choose_in_open_list,
    grab_with_popup,
    next_page,
    open_action_list,
    open_wizard,
)

S = DeploymentState
SHOTS = shots_folder("wizard")


@pytest.fixture
def earlier_run(demo_fleet):
    """Run #1 of line-monitor on four devices: one scheduled (17:00 tomorrow, local), one
    queued, one retrying, one running. Returns {state: (device id, device name)} and the
    scheduled time."""
    plan = plan_update([Selection("line-monitor")])
    devices = plan.devices()[:4]
    at = (utcnow() + timedelta(days=1)).astimezone().replace(hour=17, minute=0, second=0)
    at = at.astimezone(utcnow().tzinfo)
    actions = {devices[0].id: DeviceAction(DeployAction.AT, at)}
    run_id = create_run(
        plan,
        actions,
        approved_by="earlier",
        devices=[d.id for d in devices],
        default=DEPLOY_NOW,
    )
    apply_configuration(run_id)
    (
        Deployment.update(state=S.RETRYING, next_attempt_at=at + timedelta(minutes=5))
        .where(Deployment.device == devices[2].id)
        .execute()
    )
    (
        Deployment.update(state=S.RUNNING, phase="downloading", started_at=utcnow())
        .where(Deployment.device == devices[3].id)
        .execute()
    )
    states = (S.SCHEDULED, S.QUEUED, S.RETRYING, S.RUNNING)
    return run_id, {s: (d.id, d.name) for s, d in zip(states, devices, strict=True)}, at


def row_of(model, name):
    return next(r for r in range(model.rowCount()) if model.index(r, 0).data() == name)


def test_pending_deployments_on_both_pages(
    qtbot, earlier_run, main_window, message_boxes, screenshot
):
    run_id, devices, _ = earlier_run
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    page = wizard.devices_page
    model = page.model
    column = ChecklistModel.PENDING_COLUMN
    assert model.headerData(column, Qt.Orientation.Horizontal) == "Pending deployment"
    texts = {
        state: model.index(row_of(model, name), column).data()
        for state, (_, name) in devices.items()
    }
    assert texts == {
        S.SCHEDULED: f"scheduled tomorrow 17:00 in run #{run_id}",
        S.QUEUED: f"queued in run #{run_id}",
        S.RETRYING: f"retrying tomorrow 17:05 in run #{run_id}",
        S.RUNNING: f"deploying now in run #{run_id}",
    }
    assert page.pending_label.isVisible()
    assert page.pending_label.text().startswith("3 devices have a pending deployment")
    assert "1 device is deploying now" in page.pending_label.text()
    for width, height in ((1280, 800), (1024, 700)):
        wizard.resize(width, height)
        page.view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        grab_with_popup(wizard, None).save(f"{SHOTS}/devices-pending-{width}x{height}.png")
    page.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)

    next_page(qtbot, wizard)
    deployment = wizard.deployment_page
    view = deployment.view
    dmodel = deployment.model
    # the queued one's device does not deploy in this run: its pending deployment stays
    queued_row = row_of(dmodel, devices[S.QUEUED][1])
    for width, height in ((1024, 700), (1280, 800)):
        wizard.resize(width, height)
        combo = open_action_list(qtbot, view, queued_row, ACTION_COLUMN)
        grab_with_popup(wizard, combo.view()).save(
            f"{SHOTS}/deployment-combo-open-{width}x{height}.png"
        )
        if width == 1024:  # take what it was; the editor closes
            choose_in_open_list(qtbot, combo, ACTION_TEXT[DeployAction.NOW])
            qtbot.waitUntil(lambda: view.indexWidget(dmodel.index(queued_row, 3)) is None)
    choose_in_open_list(qtbot, combo, ACTION_TEXT[DeployAction.NONE])
    shown = {
        state: dmodel.index(row_of(dmodel, name), PENDING_COLUMN).data()
        for state, (_, name) in devices.items()
    }
    assert shown[S.SCHEDULED] == (
        f"scheduled tomorrow 17:00 in run #{run_id} → replaced by this run"
    )
    assert shown[S.QUEUED] == f"queued in run #{run_id} → stays, pushes this update too"
    assert shown[S.RUNNING] == f"deploying now in run #{run_id} → this run's follows it"
    note = deployment.pending_label.text()
    assert (
        "2 devices have a pending deployment in an earlier run; this run's deployment "
        "replaces it." in note
    )
    assert "1 device that does not deploy keeps its pending deployment" in note
    assert "push the new configuration too" in note
    assert "1 device is deploying now in an earlier run; this run's deployment follows it" in note
    for width, height in ((1280, 800), (1024, 700)):
        wizard.resize(width, height)
        screenshot(wizard, f"wizard-2-deployment-pending-{width}x{height}")
        grab_with_popup(wizard, None).save(f"{SHOTS}/deployment-pending-{width}x{height}.png")

    next_page(qtbot, wizard)
    new_run = approve(qtbot, wizard, message_boxes)
    by_device = {
        d.device_id: (d.run_id, d.state)
        for d in Deployment.select().where(Deployment.device.in_([i for i, _ in devices.values()]))
    }
    # superseded by the new run where it deploys; kept where it does not; running untouched
    old = {
        state: Deployment.get((Deployment.run == run_id) & (Deployment.device == device_id)).state
        for state, (device_id, _) in devices.items()
    }
    assert old == {
        S.SCHEDULED: S.CANCELLED,
        S.QUEUED: S.QUEUED,
        S.RETRYING: S.CANCELLED,
        S.RUNNING: S.RUNNING,
    }
    assert by_device  # the new run's deployments exist beside them
    assert Deployment.select().where(Deployment.run == new_run).count() > 0


def test_no_pending_deployment_no_note(qtbot, main_window):
    wizard = open_wizard(qtbot, main_window, "edge-gateway")
    assert not wizard.devices_page.pending_label.isVisible()
    next_page(qtbot, wizard)
    assert not wizard.deployment_page.pending_label.isVisible()
    row = 0
    assert wizard.deployment_page.model.index(row, PENDING_COLUMN).data() == "—"
    choose_action(
        qtbot, wizard.deployment_page.view, 0, ACTION_COLUMN, ACTION_TEXT[DeployAction.NOW]
    )
