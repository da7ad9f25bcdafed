"""The Deployment page's rollout in waves: the strategy's controls, the Wave column, moving
devices by hand, re-filling in the sort order, Finalize's summary and what Approve records."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction
from appupdater.core.waves import REST, Strategy, WaveSize
from appupdater.store.models import DeployAction, Deployment, DeploymentState, Target, UpdateRun
from appupdater.ui.wizard.deployment_model import ACTION_COLUMN, WAVE_COLUMN, DeploymentModel
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wording import ACTION_TEXT
from tests.ui.drive import (
    LEFT,
    approve,
    choose_action,
    choose_in_open_list,
    click_row,
    next_page,
    open_action_list,
    open_wizard,
)


def _state(demo_fleet) -> WizardState:
    selections = [Selection("line-monitor")]
    plan = plan_update(selections)
    state = WizardState(selections)
    state.set_plan(plan, {d.id for d in plan.devices()})
    return state


def test_waves_fill_in_order_and_hand_moves_keep_their_wave(demo_fleet):
    state = _state(demo_fleet)
    ids = [device_id for device_id, _ in state.selected_devices()]
    state.actions[ids[0]] = DeviceAction(DeployAction.NONE)
    state.set_strategy(Strategy((WaveSize(count=1), WaveSize(count=2), REST)))
    now = ids[1:]
    assert state.waves[now[0]] == 1
    assert [state.waves[d] for d in now[1:3]] == [2, 2]
    assert {state.waves[d] for d in now[3:]} == {3}
    assert ids[0] not in state.waves  # "do not deploy" has no wave
    # the last device becomes the canary by hand: the first one moves up to wave 2
    state.move_to_wave([now[-1]], 1)
    assert state.waves[now[-1]] == 1
    assert state.waves[now[0]] == 2
    assert sum(1 for w in state.waves.values() if w == 1) == 1
    # a new order re-fills the others; the hand-moved device keeps its wave
    state.set_wave_order(list(reversed(ids)))
    assert state.waves[now[-1]] == 1
    assert state.waves[now[-2]] == 2
    # all at once again: no waves
    state.set_strategy(None)
    assert state.waves == {}


def _wave_cells(model):
    return [model.index(r, WAVE_COLUMN).data() for r in range(model.rowCount())]


def _shots(qtbot, screenshot, wizard, name):
    """The wizard as shown at 1280×800 and 1024×700."""
    for width, height in ((1280, 800), (1024, 700)):
        wizard.resize(width, height)
        qtbot.waitUntil(lambda w=width: wizard.width() == w)
        screenshot(wizard, f"{name}-{width}x{height}")


def test_in_waves_move_to_wave_one_finalize_and_approve(
    qtbot, main_window, message_boxes, screenshot
):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    box = page.strategy_box
    view, model = page.view, page.model
    assert box.all_at_once.isChecked()
    assert view.isColumnHidden(WAVE_COLUMN)
    qtbot.mouseClick(box.in_waves, LEFT)
    assert not view.isColumnHidden(WAVE_COLUMN)
    # canary 1 device, then waves of 40 %, the last wave not "the rest"
    box.wave_size.selectAll()
    qtbot.keyClicks(box.wave_size, "40")
    box.wave_unit.setCurrentIndex(box.wave_unit.findText("%"))
    if box.rest.isChecked():
        qtbot.mouseClick(box.rest, LEFT)
    box.soak.selectAll()
    qtbot.keyClicks(box.soak, "15")
    # one device does not deploy: it has no wave
    choose_action(qtbot, view, 0, ACTION_COLUMN, ACTION_TEXT[DeployAction.NONE])
    cells = _wave_cells(model)
    assert cells[0] == ""
    deploying = model.rowCount() - 1
    size = deploying * 40 // 100
    assert cells[1] == "1 (canary)"
    assert cells[2 : 2 + size] == ["2"] * size
    assert "waves" in box.preview.text()
    # the last row becomes the canary with its combo
    last = model.rowCount() - 1
    combo = open_action_list(qtbot, view, last, WAVE_COLUMN)
    choose_in_open_list(qtbot, combo, "1 (canary)")
    qtbot.waitUntil(lambda: view.indexWidget(model.index(last, WAVE_COLUMN)) is None)
    cells = _wave_cells(model)
    assert cells[last] == "1 (canary)"
    assert cells[1] == "2"  # the former canary moved up to wave 2
    assert cells.count("1 (canary)") == 1
    last_id = model.device_at(last)[0]
    _shots(qtbot, screenshot, wizard, "wizard-2-deployment-waves")

    next_page(qtbot, wizard)
    final = wizard.finalize_page
    summary = final.strategy_label.text()
    assert f"In 4 waves</b>: a canary of 1 device, then {size}, {size} and " in summary
    assert "15 min after" in summary and "more than 10 %" in summary
    device_cell = final.model.index(model_row(final.model, last_id), 4).data()
    assert "wave 1" in device_cell
    _shots(qtbot, screenshot, wizard, "wizard-3-finalize-waves")

    run_id = approve(qtbot, wizard, message_boxes)
    assert "will start in 4 waves, the first of 1 now" in message_boxes.seen[-1]
    run = UpdateRun.get_by_id(run_id)
    assert run.strategy["soak_minutes"] == 15
    assert run.strategy["max_failures_percent"] == 10
    assert run.strategy["waves"][0] == 1
    waves = {t.device_id: t.wave for t in Target.select().where(Target.run == run_id)}
    assert waves[last_id] == 1
    assert sum(1 for w in waves.values() if w == 1) == 1
    assert waves[model.device_at(0)[0]] is None
    # the canary is queued, the later waves are held until theirs opens
    states = {d.device_id: (d.wave, d.state) for d in Deployment.select()}
    assert states[last_id] == (1, DeploymentState.QUEUED)
    assert {state for wave, state in states.values() if wave > 1} == {DeploymentState.HELD}


def model_row(model, device_id):
    return next(r for r, (d, _) in enumerate(model.devices) if d == device_id)


def test_sorting_refills_and_move_to_wave_for_a_selection(qtbot, main_window, message_boxes):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    view, model = page.view, page.model
    qtbot.mouseClick(page.strategy_box.in_waves, LEFT)
    # sorted by device name, descending: the canary is the last name
    view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert model.index(0, WAVE_COLUMN).data() == "1 (canary)"
    names = sorted(model.index(r, 0).data() for r in range(model.rowCount()))
    assert model.index(0, 0).data() == names[-1]
    # select rows 3 and 4 and move them to wave 1 from the menu
    click_row(qtbot, view, 3)
    click_row(qtbot, view, 4, modifier=Qt.KeyboardModifier.ControlModifier)
    menu = page.move_button.menu()
    assert isinstance(menu, QMenu)
    menu.aboutToShow.emit()
    [wave_one] = [a for a in menu.actions() if a.text().replace("&", "").startswith("1 ")]
    wave_one.trigger()
    moved = {model.index(r, 0).data() for r in (3, 4)}
    assert model.index(3, WAVE_COLUMN).data() == "1 (canary)"
    assert model.index(4, WAVE_COLUMN).data() == "1 (canary)"
    # they take the canary's place: the device that was the canary moves on to wave 2
    assert model.index(0, WAVE_COLUMN).data() == "2"
    # sorting again re-fills the others; the two keep wave 1
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    ones = {
        model.index(r, 0).data()
        for r in range(model.rowCount())
        if model.index(r, WAVE_COLUMN).data() == "1 (canary)"
    }
    assert ones == moved
    assert model.index(0, WAVE_COLUMN).data() == "2"
    message_boxes.answer(text="&Discard choices")
    wizard.cancel()


def test_waves_fill_in_the_sort_order_of_every_device_also_when_filtered(demo_fleet):
    state = _state(demo_fleet)
    model = DeploymentModel(state)
    model.reload()
    state.set_strategy(Strategy((WaveSize(count=1), REST)))
    model.set_filter("plant a")
    model.sort(0, Qt.SortOrder.DescendingOrder)  # by device name, the filter hiding most
    names = {device_id: targets[0].device.name for device_id, targets in model.devices}
    [canary] = [d for d, wave in state.waves.items() if wave == 1]
    assert names[canary] == max(names.values())
    assert len(state.waves) == len(names)
    # sorting by the Wave column itself keeps the waves
    before = dict(state.waves)
    model.sort(WAVE_COLUMN, Qt.SortOrder.DescendingOrder)
    assert state.waves == before


def test_cancel_asks_before_discarding_a_rollout_in_waves(qtbot, main_window, message_boxes):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    qtbot.mouseClick(wizard.deployment_page.strategy_box.in_waves, LEFT)
    message_boxes.answer(text="&Keep editing")
    assert not wizard.cancel()
    assert "chose a rollout in waves" in message_boxes.seen[-1]
    assert wizard.isVisible()
    message_boxes.answer(text="&Discard choices")
    assert wizard.cancel()
