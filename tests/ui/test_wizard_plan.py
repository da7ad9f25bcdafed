"""The update wizard opened on a precomputed plan (a rollback or a revert): it starts on the
Deployment page with every planned device, and has no Devices page to go back to."""

from __future__ import annotations

from PySide6.QtWidgets import QWizard

from appupdater.core.planning import Selection, plan_update
from appupdater.core.rollback import plan_revert, plan_rollback
from appupdater.core.runs import CONFIG_ONLY, apply_configuration, create_run
from appupdater.store.models import Device

BACK = QWizard.WizardButton.BackButton


def _run(names=None):
    plan = plan_update([Selection("line-monitor", "2.0.0")])
    ids = None if names is None else [Device.get(Device.name == n).id for n in names]
    run_id = create_run(plan, approved_by="alice", devices=ids, default=CONFIG_ONLY)
    apply_configuration(run_id)
    return run_id


def test_rollback_plan_opens_on_deployment_with_every_device(qtbot, main_window):
    run_id = _run()
    plan = plan_rollback(run_id)
    planned = {d.id for d in plan.devices()}
    assert planned
    wizard = main_window.open_plan_wizard(plan)
    assert wizard is not None and wizard is main_window.wizard
    qtbot.waitUntil(wizard.isVisible)
    assert wizard.currentPage() is wizard.deployment_page
    assert wizard.devices_page is None
    assert wizard.pageIds() == [wizard.pageIds()[0], wizard.pageIds()[1]]
    assert wizard.state.plan is plan
    assert wizard.state.selected == planned
    assert wizard.deployment_page.model.rowCount() == len(planned)
    assert wizard.windowTitle() == f"Roll back run #{run_id}"
    assert wizard.currentPage().title().startswith("Step 1 of 2: ")
    assert not wizard.button(BACK).isVisible()


def test_revert_plan_title_names_the_device(qtbot, main_window):
    run_id = _run()
    device = plan_rollback(run_id).devices()[0]
    plan = plan_revert(device.id, 1)
    wizard = main_window.open_plan_wizard(plan)
    assert wizard is not None
    assert wizard.windowTitle() == f"Revert {device.name} to revision 1"


def test_a_wizard_with_choices_is_not_replaced(qtbot, main_window, message_boxes):
    run_id = _run()
    first = main_window.open_plan_wizard(plan_rollback(run_id))
    first.state.select([first.state.plan.targets[0].device.id], False)  # a choice made
    message_boxes.answer()
    assert main_window.open_plan_wizard(plan_rollback(run_id)) is None
    assert main_window.wizard is first
    assert "already open" in message_boxes.seen[0]
