"""The Finalize page: what each device undergoes, browsing a big tree, a time that passes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QWizard

from appupdater.core.planning import ChangeOp
from appupdater.store.models import DeployAction, Deployment, Device, Target
from appupdater.ui.timefmt import local_text
from appupdater.ui.wizard.deployment_page import ACTION_COLUMN
from appupdater.ui.wording import ACTION_TEXT, OP_TEXT
from tests.helpers import devices_yaml, load_yaml
from tests.ui.drive import approve, choose_in_combo, next_page, open_editor, open_wizard

FINISH = QWizard.WizardButton.FinishButton


def _device_row(model, name):
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    for row in range(model.rowCount()):
        if model.index(row, 0).data().split(" ")[0] == name:
            return model.index(row, 0)
    raise AssertionError(f"{name} not in the tree")


def _application(model, device_index, column):
    app = model.index(0, 0, device_index)
    return model.index(0, column, device_index).data(), app


def _modules(model, app_index):
    return [
        (model.index(r, 0, app_index).data(), model.index(r, 1, app_index).data())
        for r in range(model.rowCount(app_index))
    ]


def _set_action(qtbot, page, name, text):
    row = next(r for r in range(page.model.rowCount()) if page.model.index(r, 0).data() == name)
    combo = open_editor(qtbot, page.view, row, ACTION_COLUMN)
    choose_in_combo(qtbot, combo, text)


@pytest.fixture
def drifted(demo_fleet):
    """agv-90: configured 4.0.0 of edge-gateway but still running 3.6.0 (as the tester's agv-04)."""
    load_yaml(
        devices_yaml(
            "{name: agv-90, site: Hall 2, applications: "
            "{edge-gateway: {configured: '4.0.0', installed: '3.6.0'}}}"
        )
    )


def test_a_deployed_device_shows_what_it_undergoes(qtbot, drifted, main_window, screenshot):
    """A device configured ahead of what it runs (e.g. 4.0.0, running 3.6.0): deployed, the
    tree shows its change from what it runs, with every module the deployment changes, and says
    where the configuration was; not deployed, the configuration's change. The totals count
    what the tree shows."""
    wizard = open_wizard(qtbot, main_window, "edge-gateway")
    plan = wizard.state.plan
    agv = next(t for t in plan.targets if t.device.name == "agv-90")
    assert len(plan.device_changes(agv)) > len(plan.changes(agv))
    name, runs, configured = agv.device.name, agv.installed.text, agv.configured.text
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    page = wizard.finalize_page
    model = page.model
    device = _device_row(model, name)
    page.view.scrollTo(device)
    page.view.expand(device)
    wizard.resize(1280, 800)
    screenshot(wizard, "wizard-3-finalize-device-differs")
    app = model.index(0, 0, device)
    assert model.index(0, 2, device).data() == runs
    assert model.index(0, 4, device).data() == (
        f"device runs {runs}; configuration was at {configured}"
    )
    expected = [(c.module, OP_TEXT[c.op]) for c in plan.device_changes(agv)]
    assert _modules(model, app) == expected
    assert "runs an earlier version than its configuration" in page.note.text()
    _totals_match_the_tree(page)

    # not deployed: the configuration's change only
    wizard.back()
    _set_action(qtbot, wizard.deployment_page, name, ACTION_TEXT[DeployAction.NONE])
    next_page(qtbot, wizard)
    device = _device_row(model, name)
    app = model.index(0, 0, device)
    assert model.index(0, 2, device).data() == agv.from_version.text
    assert model.index(0, 4, device).data() == f"configuration only; device runs {runs}"
    assert _modules(model, app) == [(c.module, OP_TEXT[c.op]) for c in plan.changes(agv)]
    _totals_match_the_tree(page)


def _totals_match_the_tree(page):
    model = page.model
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    seen = {op: 0 for op in ChangeOp}
    by_text = {OP_TEXT[op]: op for op in ChangeOp}
    for row in range(model.rowCount()):
        device = model.index(row, 0)
        for a in range(model.rowCount(device)):
            app = model.index(a, 0, device)
            for _, op in _modules(model, app):
                seen[by_text[op]] += 1
    counts = page.counts()
    assert {op: counts[op.value] for op in ChangeOp} == seen


def test_search_and_expand_all(qtbot, main_window, screenshot):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    page = wizard.finalize_page
    total = len(wizard.state.selected)
    qtbot.keyClicks(page.search, "press")
    names = [page.model.index(r, 0).data() for r in range(page.model.rowCount())]
    assert names and all("press" in n for n in names)
    assert page.shown_label.text() == f"{len(names)} of {total} devices"
    qtbot.mouseClick(page.collapse_button, Qt.MouseButton.LeftButton)
    assert not any(page.view.isExpanded(page.model.index(r, 0)) for r in range(len(names)))
    qtbot.mouseClick(page.expand_button, Qt.MouseButton.LeftButton)
    assert all(page.view.isExpanded(page.model.index(r, 0)) for r in range(len(names)))
    wizard.resize(1024, 700)
    screenshot(wizard, "wizard-3-finalize-search-1024")
    page.search.clear()
    assert page.model.rowCount() == min(total, page.model.BATCH) and not page.shown_label.text()


def _on_finalize_all_at_the_proposed_time(qtbot, main_window):
    """The wizard on Finalize with every device at the Deployment page's proposed time (set with
    Ctrl+A, the bulk action and Apply); the wizard and that time."""
    wizard = open_wizard(qtbot, main_window, "vision-inspect")
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    page.view.setFocus()
    qtbot.keyClick(page.view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    choose_in_combo(qtbot, page.bulk_action, ACTION_TEXT[DeployAction.AT])
    qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
    next_page(qtbot, wizard)
    return wizard, next(a.at for a in wizard.state.actions.values())


def test_a_time_that_passes_on_finalize_is_caught_before_the_question(
    qtbot, main_window, message_boxes
):
    """Every device at the proposed time; the time passes while Finalize is open: Approve asks,
    in local time, whether to deploy them now; Deploy Now records a run that deploys now."""
    wizard, at = _on_finalize_all_at_the_proposed_time(qtbot, main_window)
    wizard.state.now = lambda: at + timedelta(minutes=1)
    message_boxes.answer(text="Deploy &Now")
    run_id = approve(qtbot, wizard, message_boxes)
    late = message_boxes.seen[0]
    assert late.startswith("The scheduled time has passed for ") and local_text(at) in late
    assert "will be updated" in message_boxes.seen[1]
    assert {t.action for t in Target.select().where(Target.run == run_id)} == {"now"}
    assert {d.state for d in Deployment.select().where(Deployment.run == run_id)} == {"queued"}


def test_going_back_from_a_passed_time_changes_nothing(qtbot, main_window, message_boxes):
    wizard, at = _on_finalize_all_at_the_proposed_time(qtbot, main_window)
    wizard.state.now = lambda: at
    message_boxes.answer(text="Go &Back")
    qtbot.mouseClick(wizard.button(FINISH), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.deployment_page)
    assert Target.select().count() == 0
    assert {a.action for a in wizard.state.actions.values()} == {DeployAction.AT}
    assert Device.select().count() > 0
