"""Every custom item model passes Qt's model tester, filled with real plans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appupdater.core.inventory import load_inventory
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction
from appupdater.store.fields import utcnow
from appupdater.store.models import DeployAction
from appupdater.ui.fleet_models import ApplicationsModel, DevicesModel
from appupdater.ui.wizard.checklist_models import ChecklistModel, SkippedModel
from appupdater.ui.wizard.deployment_page import DeploymentModel
from appupdater.ui.wizard.finalize_page import FinalizeModel
from appupdater.ui.wizard.state import WizardState


@pytest.fixture
def state(demo_fleet):
    plan = plan_update([Selection("line-monitor", "2.0.0"), Selection("edge-gateway")])
    assert [s.device.name for s in plan.skipped] == ["lab-rig-01"]
    assert plan.targets and plan.skipped
    devices = [d.id for d in plan.devices()]
    state = WizardState(
        [Selection("line-monitor", "2.0.0"), Selection("edge-gateway")], plan, set(devices[::2])
    )
    state.actions[devices[0]] = DeviceAction(DeployAction.AT, utcnow() + timedelta(hours=3))
    state.actions[devices[2]] = DeviceAction(DeployAction.NONE)
    return state


def test_checklist_model(qtmodeltester, state):
    model = ChecklistModel(state)
    model.set_plan(state.plan)
    qtmodeltester.check(model)
    model.sort(3)
    model.set_filter("plant")
    qtmodeltester.check(model)


def test_skipped_model(qtmodeltester, state):
    model = SkippedModel()
    model.set_items(state.plan.skipped)
    qtmodeltester.check(model)


def test_deployment_model(qtmodeltester, state):
    model = DeploymentModel(state)
    model.reload()
    assert model.rowCount() == len(state.selected)
    qtmodeltester.check(model)


def test_finalize_model(qtmodeltester, state):
    model = FinalizeModel(state)
    model.reload()
    assert model.rowCount() == len(state.selected)
    device = model.index(0, 0)
    target = model.index(0, 0, device)
    assert model.rowCount(target) == len(state.plan.changes(state.selected_devices()[0][1][0]))
    qtmodeltester.check(model)


def test_fleet_models(qtmodeltester, demo_fleet):
    inventory = load_inventory()
    apps = ApplicationsModel()
    apps.set_apps(inventory.apps)
    qtmodeltester.check(apps)
    devices = DevicesModel()
    devices.set_devices([a.name for a in inventory.apps], inventory.devices)
    devices.sort(4)
    qtmodeltester.check(devices)
