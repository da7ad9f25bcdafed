"""The update wizard opened on a precomputed plan (a rollback or a revert): it starts on the
Deployment page with every planned device, and has no Devices page to go back to."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWizard

from appupdater.core.planning import Selection, plan_update
from appupdater.core.rollback import plan_revert, plan_rollback
from appupdater.core.runs import CONFIG_ONLY, apply_configuration, create_run
from appupdater.store.models import DeployAction, Device, DeviceApp, Target, UpdateRun
from appupdater.ui.wizard.deployment_page import ACTION_COLUMN
from appupdater.ui.wording import ACTION_TEXT
from tests.ui.drive import approve, choose_action, click_wizard, next_page, open_wizard

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


def test_deployment_page_sums_up_per_device_versions_and_lists_the_skipped(
    qtbot, main_window, screenshot
):
    first = _run()
    changed = plan_rollback(first).devices()[0]
    later = create_run(
        plan_update([Selection("line-monitor", "2.1.0")]),
        approved_by="alice",
        devices=[changed.id],
        default=CONFIG_ONLY,
    )
    apply_configuration(later)
    plan = plan_rollback(first)
    goals = Counter(t.to_version.text for t in plan.targets)
    assert len(goals) > 1, "the demo fleet should go back to several versions"
    wizard = main_window.open_plan_wizard(plan)
    page = wizard.deployment_page
    text = page.summary.text().replace("<b>", "").replace("</b>", "")
    devices = len(plan.devices())
    assert text.startswith(f"Rolling back run #{first} on {devices} devices: line-monitor 2.0.0 → ")
    for version, count in goals.items():
        assert f"→ {version} on {count} device" in text
    assert page.skipped.isVisible()
    skipped = {s.device.name for s in plan.skipped}
    assert changed.name in skipped and len(skipped) == 2  # and packer-01, new in run 1
    assert page.skipped.label.text() == "2 devices skipped"
    assert not page.skipped.view.isVisible()
    qtbot.mouseClick(page.skipped.toggle, Qt.MouseButton.LeftButton)
    assert page.skipped.view.isVisible()
    model = page.skipped.view.model()
    rows = [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]
    assert [r[0] for r in rows] == sorted(skipped)
    mine = [(r[2], r[3], r[5]) for r in rows if r[0] == changed.name]
    assert mine == [("line-monitor", "2.1.0", f"configured 2.1.0 since run #{later}")]


def test_an_ordinary_update_shows_no_skipped_line_on_deployment(qtbot, main_window):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    assert wizard.currentPage() is wizard.deployment_page
    assert not wizard.deployment_page.skipped.isVisible()


def test_finalize_names_the_rollback_and_shows_its_module_changes(
    qtbot, main_window, message_boxes
):
    first = _run()
    DeviceApp.update(installed=DeviceApp.configured).execute()  # as if the run deployed
    plan = plan_rollback(first)
    wizard = main_window.open_plan_wizard(plan)
    next_page(qtbot, wizard)
    page = wizard.finalize_page
    assert wizard.currentPage() is page
    assert page.totals.text().startswith(f"<b>Rollback of run #{first}</b> on <b>")
    model = page.model
    device = model.index(0, 0)
    assert device.data().startswith(plan.targets[0].device.name + " ")
    app = model.index(0, 0, device)
    target = plan.targets[0]
    assert [model.index(0, c, device).data() for c in (0, 2, 3)] == [
        "line-monitor",
        "2.0.0",
        target.to_version.text,
    ]
    ops = {model.index(r, 1, app).data() for r in range(model.rowCount(app))}
    assert ops and ops <= {"Added", "Removed", "Modified"}  # what the rollback changes
    assert "<b>0</b> removed" not in page.totals.text()  # 2.0.0 added modules: they go
    message_boxes.answer()
    with qtbot.waitSignal(wizard.run_created, timeout=10_000):
        click_wizard(qtbot, wizard, QWizard.WizardButton.FinishButton)
    assert message_boxes.seen[0].startswith(f"Rollback of run #{first}: the configuration of ")


def test_a_rollback_takes_per_device_actions_as_any_run(qtbot, main_window, message_boxes):
    first = _run()
    plan = plan_rollback(first)
    wizard = main_window.open_plan_wizard(plan)
    view = wizard.deployment_page.view
    qtbot.waitUntil(lambda: QApplication.activeWindow() is wizard)
    kept = wizard.deployment_page.model.index(0, 0).data()
    choose_action(qtbot, view, 0, ACTION_COLUMN, ACTION_TEXT[DeployAction.NONE])
    next_page(qtbot, wizard)
    run_id = approve(qtbot, wizard, message_boxes)
    run = UpdateRun.get_by_id(run_id)
    assert run.rollback_of == first and run.reason == f"rollback of run #{first}"
    actions = {t.device.name: t.action for t in Target.select().where(Target.run == run_id)}
    assert actions[kept] == "none"
    assert set(actions) == {d.name for d in plan.devices()}
    assert {a for name, a in actions.items() if name != kept} == {"now"}
