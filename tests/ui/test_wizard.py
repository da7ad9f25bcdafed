"""The whole update flow driven through the real widgets, checked in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDateTimeEdit, QMessageBox, QWizard

from appupdater.core.planning import Selection, plan_update
from appupdater.store.fields import utcnow
from appupdater.store.models import (
    Application,
    AppVersion,
    DeployAction,
    Deployment,
    Device,
    DeviceApp,
    Target,
    UpdateRun,
)
from appupdater.ui.wizard.deployment_page import ACTION_COLUMN, TIME_COLUMN
from appupdater.ui.wording import ACTION_TEXT
from tests.helpers import dump_tables
from tests.ui.drive import (
    approve,
    choose_action,
    choose_in_combo,
    click_check,
    click_wizard,
    next_page,
    open_editor,
    open_wizard,
)

NEXT = QWizard.WizardButton.NextButton
FINISH = QWizard.WizardButton.FinishButton
CANCEL = QWizard.WizardButton.CancelButton


def configured_versions(app):
    query = (
        DeviceApp.select(Device.name, AppVersion.version)
        .join(Device)
        .switch(DeviceApp)
        .join(AppVersion, on=DeviceApp.configured == AppVersion.id)
        .where(DeviceApp.application == Application.get(Application.name == app).id)
    )
    return dict(query.tuples())


def test_one_application_all_now(qtbot, main_window, message_boxes, screenshot):
    main_window.resize(1280, 800)
    screenshot(main_window, "main-window")
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    page = wizard.devices_page
    plan = wizard.state.plan
    affected = {t.device.name for t in plan.targets}
    assert page.count_label.text() == f"{len(affected)} of {len(affected)} devices selected"
    # leave the first device out
    first = page.model.index(0, 0).data()
    click_check(qtbot, page.view, 0)
    assert page.count_label.text() == f"{len(affected) - 1} of {len(affected)} devices selected"
    screenshot(wizard, "wizard-1-devices")
    next_page(qtbot, wizard)
    assert wizard.currentPage() is wizard.deployment_page
    assert wizard.deployment_page.model.rowCount() == len(affected) - 1
    assert "line-monitor" in wizard.deployment_page.summary.text()
    next_page(qtbot, wizard)
    assert wizard.currentPage() is wizard.finalize_page
    run_id = approve(qtbot, wizard, message_boxes)
    assert "will be updated" in message_boxes.seen[0]

    run = UpdateRun.get_by_id(run_id)
    assert run.configured_at is not None
    targets = {t.device.name for t in Target.select().where(Target.run == run)}
    assert targets == affected - {first}
    assert {t.action for t in Target.select()} == {"now"}
    latest = plan.selections[0][1].text
    versions = configured_versions("line-monitor")
    assert all(versions[name] == latest for name in targets)
    assert versions.get(first) != latest
    deployments = Deployment.select().where(Deployment.run == run)
    assert {d.device.name for d in deployments} == targets
    assert {d.state for d in deployments} == {"queued"}
    qtbot.waitUntil(lambda: main_window.wizard is None)


def test_two_applications_mixed_actions(qtbot, main_window, message_boxes, screenshot):
    wizard = open_wizard(qtbot, main_window, "line-monitor", "edge-gateway")
    assert {app.name for app, _ in wizard.state.plan.selections} == {"line-monitor", "edge-gateway"}
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    view = page.view
    names = [page.model.index(r, 0).data() for r in range(3)]
    # row 0: do not deploy
    choose_action(qtbot, view, 0, ACTION_COLUMN, ACTION_TEXT[DeployAction.NONE])
    # row 1: at a time, one day after the proposed one
    choose_action(qtbot, view, 1, ACTION_COLUMN, "Deploy the update at a specified time")
    assert page.model.index(1, TIME_COLUMN).flags() & Qt.ItemFlag.ItemIsEditable
    assert not page.model.index(0, TIME_COLUMN).flags() & Qt.ItemFlag.ItemIsEditable
    editor = open_editor(qtbot, view, 1, TIME_COLUMN)
    assert isinstance(editor, QDateTimeEdit)
    editor.setFocus()
    editor.setCurrentSection(QDateTimeEdit.Section.DaySection)
    qtbot.keyClick(editor, Qt.Key.Key_Up)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.indexWidget(page.model.index(1, TIME_COLUMN)) is None)
    device_1 = Device.get(Device.name == names[1]).id
    chosen = wizard.state.actions[device_1].at
    assert chosen - utcnow() > timedelta(hours=23)
    screenshot(wizard, "wizard-2-deployment")
    next_page(qtbot, wizard)
    finalize = wizard.finalize_page
    counts = finalize.counts()
    assert (counts["none"], counts["at"]) == (1, 1)
    assert counts["now"] == counts["devices"] - 2
    screenshot(wizard, "wizard-3-finalize")
    run_id = approve(qtbot, wizard, message_boxes)

    by_device = {}
    for t in Target.select().where(Target.run == run_id):
        by_device.setdefault(t.device.name, set()).add((t.action, t.scheduled_at))
    assert by_device[names[0]] == {("none", None)}
    assert by_device[names[1]] == {("at", chosen)}
    deployments = {d.device.name: d for d in Deployment.select().where(Deployment.run == run_id)}
    assert names[0] not in deployments
    assert deployments[names[1]].state == "scheduled"
    assert deployments[names[1]].scheduled_at == chosen
    assert deployments[names[2]].state == "queued"
    # a device with both applications gets one deployment
    both = [
        n
        for n, s in by_device.items()
        if len(s) == 1
        and Target.select()
        .where((Target.run == run_id) & (Target.device == Device.get(Device.name == n).id))
        .count()
        == 2
    ]
    assert both, "the demo fleet has devices with both applications"
    assert all(n in deployments or n == names[0] for n in both)


def test_non_latest_target_replans(qtbot, main_window, message_boxes, screenshot):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    page = wizard.devices_page
    combo = page.version_combos["line-monitor"]
    before = len(wizard.state.plan.targets)
    choose_in_combo(qtbot, combo, "2.0.0")
    qtbot.waitUntil(
        lambda: wizard.state.plan.selections[0][1].text == "2.0.0" and page.isComplete()
    )
    plan = wizard.state.plan
    assert len(plan.targets) < before
    expected = plan_update([Selection("line-monitor", "2.0.0")])
    assert [t.device.name for t in plan.targets] == [t.device.name for t in expected.targets]
    assert page.skipped_box.isVisible()
    assert page.skipped_model.index(0, 0).data() == "lab-rig-01"
    assert "newer than the target 2.0.0" in page.skipped_model.index(0, 5).data()
    screenshot(wizard, "wizard-1-devices-skipped")
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    run_id = approve(qtbot, wizard, message_boxes)
    assert {t.to_version.version for t in Target.select().where(Target.run == run_id)} == {"2.0.0"}


def test_past_date_is_rejected_until_fixed(qtbot, main_window, screenshot):
    wizard = open_wizard(qtbot, main_window, "edge-gateway")
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    view = page.view
    choose_action(qtbot, view, 0, ACTION_COLUMN, "Deploy the update at a specified time")
    editor = open_editor(qtbot, view, 0, TIME_COLUMN)
    editor.setFocus()
    # a year before the proposal is past at any time of day (three hours before 00:00 was
    # not: the hour does not step into the day before)
    editor.setCurrentSection(QDateTimeEdit.Section.YearSection)
    qtbot.keyClick(editor, Qt.Key.Key_Down)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    name = page.model.index(0, 0).data()
    qtbot.waitUntil(page.error.isVisible)
    assert f"in the past for {name}" in page.error.text()
    assert not wizard.button(NEXT).isEnabled()
    screenshot(wizard, "wizard-2-past-time")
    # fix it: deploy now instead
    choose_action(qtbot, view, 0, ACTION_COLUMN, "Deploy the update now")
    qtbot.waitUntil(lambda: not page.error.isVisible())
    assert wizard.button(NEXT).isEnabled()


@pytest.mark.parametrize("page_number", [0, 1, 2])
def test_cancel_on_any_page_changes_nothing(qtbot, main_window, page_number):
    before = dump_tables()
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    for _ in range(page_number):
        next_page(qtbot, wizard)
    click_wizard(qtbot, wizard, CANCEL)
    qtbot.waitUntil(lambda: main_window.wizard is None)
    assert dump_tables() == before


def test_cancel_in_confirmation_keeps_the_wizard(qtbot, main_window, message_boxes):
    before = dump_tables()
    wizard = open_wizard(qtbot, main_window, "vision-inspect")
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    message_boxes.answer(QMessageBox.StandardButton.Cancel)
    click_wizard(qtbot, wizard, FINISH)
    qtbot.waitUntil(lambda: len(message_boxes.seen) == 1)
    assert wizard.isVisible() and wizard.currentPage() is wizard.finalize_page
    assert dump_tables() == before
    click_wizard(qtbot, wizard, CANCEL)


def test_select_none_disables_next_and_filter_selects(qtbot, main_window, message_boxes):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    page = wizard.devices_page
    qtbot.mouseClick(page.select_none, Qt.MouseButton.LeftButton)
    assert not wizard.button(NEXT).isEnabled()
    assert page.count_label.text().startswith("0 of")
    qtbot.keyClicks(page.filter_edit, "plant a")
    shown = {page.model.index(r, 0).data() for r in range(page.model.rowCount())}
    assert shown and all(
        page.model.index(r, 1).data() == "Plant A" for r in range(page.model.rowCount())
    )
    qtbot.mouseClick(page.select_all, Qt.MouseButton.LeftButton)
    assert page.count_label.text().startswith(f"{len(shown)} of")
    assert wizard.button(NEXT).isEnabled()
    # the devices left out are choices: Cancel asks before it discards them
    message_boxes.answer(text="&Discard choices")
    click_wizard(qtbot, wizard, CANCEL)
    qtbot.waitUntil(lambda: main_window.wizard is None)
    assert "left" in message_boxes.seen[0]


def test_keyboard_only(qtbot, main_window, message_boxes):
    """Tab to the applications, pick one, open the wizard, toggle with Space, go on with mnemonics."""
    main_window.activateWindow()
    main_window.apps_view.setFocus()
    qtbot.keyClick(main_window.apps_view, Qt.Key.Key_Home)
    qtbot.keyClick(main_window.apps_view, Qt.Key.Key_Space)
    assert main_window.selected_applications() == [main_window.apps_model.apps[0].name]
    qtbot.keyClick(main_window, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    wizard = main_window.wizard
    qtbot.waitUntil(lambda: wizard is not None and wizard.devices_page.isComplete())
    page = wizard.devices_page
    total = len(wizard.state.selected)
    wizard.activateWindow()  # a main_window manager focuses a newly opened main_window
    qtbot.waitUntil(wizard.isActiveWindow)
    page.view.setFocus()
    qtbot.keyClick(page.view, Qt.Key.Key_Home)
    qtbot.keyClick(page.view, Qt.Key.Key_Space)
    assert len(wizard.state.selected) == total - 1
    qtbot.keyClick(page.view, Qt.Key.Key_Space)
    assert len(wizard.state.selected) == total
    qtbot.keyClick(page.view, Qt.Key.Key_Space)
    # a mnemonic "animates" the button click, which lands a moment later
    qtbot.keyClick(wizard, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.deployment_page)
    qtbot.keyClick(wizard, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.finalize_page)
    message_boxes.answer(QMessageBox.StandardButton.Ok, keyboard=True)
    with qtbot.waitSignal(wizard.run_created, timeout=10_000) as signal:
        qtbot.keyClick(wizard, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    assert Target.select().where(Target.run == signal.args[0]).count() == sum(
        1 for t in wizard.state.plan.targets if t.device.id in wizard.state.selected
    )
    assert len({t.device_id for t in Target.select()}) == total - 1
