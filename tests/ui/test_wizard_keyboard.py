"""The wizard with the keyboard, its step numbers, its selection count, and Cancel's question."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWizard

from appupdater.store.models import DeployAction
from appupdater.ui.wizard.deployment_page import ACTION_COLUMN
from appupdater.ui.wording import ACTION_TEXT
from tests.helpers import dump_tables
from tests.ui.drive import choose_action, click_check, click_wizard, next_page, open_wizard

CANCEL = QWizard.WizardButton.CancelButton


def focus_wizard(qtbot, wizard):
    wizard.activateWindow()
    qtbot.waitUntil(wizard.isActiveWindow)


def test_first_focus_is_the_target_version(qtbot, main_window):
    wizard = open_wizard(qtbot, main_window, "line-monitor", "edge-gateway")
    page = wizard.devices_page
    first = page.version_combos["edge-gateway"]
    assert page.focusWidget() is first
    focus_wizard(qtbot, wizard)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is first)
    # then the other target, the filter, the buttons, the table
    order = [page.version_combos["line-monitor"], page.filter_edit, page.select_all]
    for widget in order:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is widget


def test_tab_leaves_the_tables_and_the_time_field(qtbot, main_window, message_boxes):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    focus_wizard(qtbot, wizard)
    page = wizard.devices_page
    page.view.setFocus()
    qtbot.keyClick(page.view, Qt.Key.Key_Home)
    qtbot.keyClick(page.view, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not page.view
    assert page.view.currentIndex().row() == 0  # not moved cell by cell

    next_page(qtbot, wizard)
    deployment = wizard.deployment_page
    deployment.view.setFocus()
    qtbot.keyClick(deployment.view, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not deployment.view
    # the bulk time: Tab goes on to the Apply button, not through year, month, day, hour
    deployment.bulk_action.setCurrentIndex(
        deployment.bulk_action.findText(ACTION_TEXT[DeployAction.AT])
    )
    deployment.bulk_time.setFocus()
    qtbot.waitUntil(deployment.bulk_time.hasFocus)
    qtbot.keyClick(deployment.bulk_time, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not deployment.bulk_time
    # (Apply is disabled while no row is selected: the filter is next)
    assert QApplication.focusWidget() is deployment.filter_edit
    click_wizard(qtbot, wizard, CANCEL)  # no choices made: no question
    qtbot.waitUntil(lambda: main_window.wizard is None)
    assert message_boxes.seen == []


def test_escape_with_choices_asks_first(qtbot, main_window, message_boxes):
    before = dump_tables()
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    choose_action(qtbot, page.view, 0, ACTION_COLUMN, ACTION_TEXT[DeployAction.NONE])
    focus_wizard(qtbot, wizard)
    # keep editing: the wizard and the choice stay
    message_boxes.answer(text="&Keep editing")
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: len(message_boxes.seen) == 1)
    assert "chose the deployment of 1 device" in message_boxes.seen[0]
    assert wizard.isVisible() and wizard.state.actions
    # the Cancel button asks too; discard closes it, nothing is written
    message_boxes.answer(text="&Discard choices")
    click_wizard(qtbot, wizard, CANCEL)
    qtbot.waitUntil(lambda: main_window.wizard is None)
    assert len(message_boxes.seen) == 2
    assert dump_tables() == before


def test_escape_without_choices_closes(qtbot, main_window, message_boxes):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    focus_wizard(qtbot, wizard)
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: main_window.wizard is None)
    assert message_boxes.seen == []


def test_step_numbers_and_counts(qtbot, main_window, message_boxes):
    wizard = open_wizard(qtbot, main_window, "line-monitor", "edge-gateway")
    page = wizard.devices_page
    assert page.title() == "Step 1 of 3: Devices"
    # plain buttons, not things that look like check boxes
    assert page.select_all.icon().isNull() and page.select_none.icon().isNull()
    devices = len({t.device.id for t in wizard.state.plan.targets})
    rows = len(wizard.state.plan.targets)
    assert rows > devices  # some devices run both applications
    assert (
        page.count_label.text()
        == f"{devices} of {devices} devices selected ({rows} of {rows} rows)"
    )
    two_rows = next(
        r
        for r in range(page.model.rowCount())
        if sum(
            1 for t in wizard.state.plan.targets if t.device.name == page.model.index(r, 0).data()
        )
        == 2
    )
    click_check(qtbot, page.view, two_rows)
    assert page.count_label.text() == (
        f"{devices - 1} of {devices} devices selected ({rows - 2} of {rows} rows)"
    )
    qtbot.keyClicks(page.filter_edit, "plant b")
    shown_rows = page.model.rowCount()
    shown_devices = len(page.model.visible_devices())
    assert page.count_label.text().endswith(
        f"; the filter shows {shown_rows} rows of {shown_devices} devices"
    )
    next_page(qtbot, wizard)
    assert wizard.deployment_page.title() == "Step 2 of 3: Deployment"
    next_page(qtbot, wizard)
    assert wizard.finalize_page.title().startswith("Step 3 of 3: ")
    click_wizard(qtbot, wizard, QWizard.WizardButton.BackButton)
    click_wizard(qtbot, wizard, QWizard.WizardButton.BackButton)
    assert page.title() == "Step 1 of 3: Devices"  # numbered once, not again
    message_boxes.answer(text="&Discard choices")
    click_wizard(qtbot, wizard, CANCEL)
    qtbot.waitUntil(lambda: main_window.wizard is None)
