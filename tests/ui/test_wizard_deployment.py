"""The Deployment page: one-click action list, a time that passes, filter, sort, totals, and
the layout on a small screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QComboBox, QWizard

from appupdater.core.pending import PendingDeployment
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction
from appupdater.store.models import DeployAction, DeploymentState
from appupdater.ui.wizard.deployment_model import DeploymentModel
from appupdater.ui.wizard.deployment_page import ACTION_COLUMN, TIME_COLUMN, WAVE_COLUMN
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wording import ACTION_TEXT
from tests.ui.drive import (
    choose_action,
    choose_in_open_list,
    click_wizard,
    next_page,
    open_action_list,
    open_wizard,
)

NEXT = QWizard.WizardButton.NextButton
BACK = QWizard.WizardButton.BackButton


def test_one_click_opens_the_action_list_over_the_whole_cell(qtbot, main_window):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    view = wizard.deployment_page.view
    index = view.model().index(2, ACTION_COLUMN)
    combo = open_action_list(qtbot, view, 2, ACTION_COLUMN)  # one click, then the list is open
    assert isinstance(combo, QComboBox)
    assert combo.view().isVisible()
    # the editor covers the cell: the cell's own icon is not shown beside the editor's
    assert combo.geometry() == view.visualRect(index)
    choose_in_open_list(qtbot, combo, ACTION_TEXT[DeployAction.NONE])
    assert index.data() == ACTION_TEXT[DeployAction.NONE]
    # keyboard moves between cells do not open lists
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.indexWidget(view.model().index(3, ACTION_COLUMN)) is None


def test_a_time_that_passes_on_finalize_shows_on_going_back(qtbot, main_window, message_boxes):
    wizard = open_wizard(qtbot, main_window, "edge-gateway")
    clock = [datetime.now(UTC)]
    wizard.state.now = lambda: clock[0]
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    choose_action(qtbot, page.view, 0, ACTION_COLUMN, ACTION_TEXT[DeployAction.AT])
    at = wizard.state.actions[wizard.state.selected_devices()[0][0]].at
    assert not page.error.isVisible()
    next_page(qtbot, wizard)
    assert wizard.currentPage() is wizard.finalize_page
    clock[0] = at + timedelta(minutes=1)  # the chosen time passes while Finalize is shown
    click_wizard(qtbot, wizard, BACK)
    assert wizard.currentPage() is page
    qtbot.waitUntil(page.error.isVisible)
    assert "in the past" in page.error.text()
    assert not wizard.button(NEXT).isEnabled()
    assert page.clock.isActive()  # and it keeps checking while shown
    message_boxes.answer(text="&Discard choices")
    wizard.cancel()


def test_filter_sort_and_totals(qtbot, main_window, message_boxes):
    wizard = open_wizard(qtbot, main_window, "line-monitor", "edge-gateway")
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    model = page.model
    total = model.rowCount()
    assert page.totals.text() == f"{total} deploy now, 0 at a specified time, 0 do not deploy"
    assert "(s)" not in page.summary.text()
    assert f"Updating {total} devices" in page.summary.text()
    # sort by device name, descending, with a click on the header (twice)
    header = page.view.horizontalHeader()
    for _ in range(2):
        qtbot.mouseClick(
            header.viewport(),
            Qt.MouseButton.LeftButton,
            pos=QPoint(header.sectionViewportPosition(0) + 10, header.height() // 2),
        )
    names = [model.index(r, 0).data() for r in range(total)]
    assert names == sorted(names, reverse=True)
    qtbot.keyClicks(page.filter_edit, "plant a")
    shown = model.rowCount()
    assert 0 < shown < total
    assert all(model.index(r, 1).data() == "Plant A" for r in range(shown))
    assert page.totals.text().endswith(f"the filter shows {shown} of {total} devices")
    # select every shown row and make them configuration only
    page.view.setFocus()
    page.view.selectAll()
    page.bulk_action.setCurrentIndex(page.bulk_action.findText(ACTION_TEXT[DeployAction.NONE]))
    qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
    assert page.totals.text().startswith(
        f"{total - shown} deploy now, 0 at a specified time, {shown} do not deploy"
    )
    # sorting by action puts the "do not deploy" devices first (the seed's order)
    page.filter_edit.clear()
    page.view.sortByColumn(ACTION_COLUMN, Qt.SortOrder.AscendingOrder)
    firsts = {model.index(r, ACTION_COLUMN).data() for r in range(shown)}
    assert firsts == {ACTION_TEXT[DeployAction.NONE]}
    message_boxes.answer(text="&Discard choices")
    wizard.cancel()


def test_no_column_is_pushed_off_a_small_screen(qtbot, main_window):
    wizard = open_wizard(qtbot, main_window, "line-monitor", "edge-gateway")
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    view = page.view
    for width, height, waves in ((1024, 700, False), (1280, 800, False), (1024, 700, True)):
        if waves:
            qtbot.mouseClick(page.strategy_box.in_waves, Qt.MouseButton.LeftButton)
            assert not view.isColumnHidden(WAVE_COLUMN)
        wizard.resize(width, height)
        qtbot.waitUntil(lambda w=width: wizard.width() == w)
        header = view.horizontalHeader()
        qtbot.waitUntil(lambda h=header: h.length() <= view.viewport().width())
        qtbot.waitUntil(lambda: not view.horizontalScrollBar().isVisible())
        assert view.horizontalScrollBar().maximum() == 0
        for column in range(header.count()):
            if not view.isColumnHidden(column):
                assert header.sectionSize(column) >= 60, column
        # the action and time columns show their whole content
        assert header.sectionSize(ACTION_COLUMN) >= QComboBox().sizeHint().width()
        time_text = view.fontMetrics().horizontalAdvance("2026-12-31 23:59")
        assert header.sectionSize(TIME_COLUMN) > time_text


def test_deployment_model_sorted_filtered_with_pending(qtmodeltester, demo_fleet):
    plan = plan_update([Selection("line-monitor"), Selection("edge-gateway")])
    devices = [d.id for d in plan.devices()]
    plan.pending[devices[0]] = PendingDeployment(1, 1, devices[0], DeploymentState.SCHEDULED, None)
    state = WizardState([Selection("line-monitor"), Selection("edge-gateway")], plan, set(devices))
    state.actions[devices[1]] = DeviceAction(DeployAction.NONE)
    model = DeploymentModel(state)
    model.reload()
    qtmodeltester.check(model)
    for column in range(model.columnCount()):
        model.sort(column, Qt.SortOrder.DescendingOrder)
        assert sorted(model.rows) == list(range(len(devices)))
    model.set_filter("plant")
    qtmodeltester.check(model)
    assert 0 < model.rowCount() < len(devices)
