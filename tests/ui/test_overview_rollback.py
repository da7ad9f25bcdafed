"""Rolling back a run from the overview as an administrator does: Roll back run… (or Roll back
these deployments…) plans off the GUI thread, the update wizard opens on its Deployment page
with the devices and the skipped ones, Finalize names the rollback, Approve records it; the run
list labels the rollback run."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import CONFIG_ONLY, apply_configuration, create_run
from appupdater.store.models import Application, AppVersion, Device, DeviceApp, Target, UpdateRun
from tests.ui.conftest import shots_folder
from tests.ui.drive import (
    approve,
    choose_in_combo,
    click_action,
    click_row,
    grab_with_popup,
    next_page,
    open_wizard,
)
from tests.ui.test_overview_actions import select

WAIT = 20_000
SHOTS = shots_folder("rollbackui")


def snapshot() -> dict[str, dict[str, str]]:
    """Every device's configured map: {device: {application: version}}."""
    query = (
        DeviceApp.select(Device.name, Application.name, AppVersion.version)
        .join(Device)
        .switch(DeviceApp)
        .join(Application)
        .switch(DeviceApp)
        .join(AppVersion, on=(DeviceApp.configured == AppVersion.id))
        .tuples()
    )
    found: dict[str, dict[str, str]] = {}
    for device, app, version in query:
        found.setdefault(device, {})[app] = version
    return found


def run_in_wizard(qtbot, main_window, message_boxes) -> int:
    """Update line-monitor through the wizard; the overview opens on the run."""
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    page = wizard.devices_page
    choose_in_combo(qtbot, page.version_combos["line-monitor"], "2.0.0")
    qtbot.waitUntil(
        lambda: wizard.state.plan.selections[0][1].text == "2.0.0" and page.isComplete()
    )
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    run_id = approve(qtbot, wizard, message_boxes)
    qtbot.waitUntil(lambda: main_window.wizard is None)
    # as if the run's deployments succeeded: the devices run what the run configured
    DeviceApp.update(installed=DeviceApp.configured).where(
        DeviceApp.device.in_(Target.select(Target.device).where(Target.run == run_id))
    ).execute()
    return run_id


def later_run_on(name: str) -> int:
    """Another run that configures `name` again (so a rollback skips it)."""
    device = Device.get(Device.name == name)
    plan = plan_update([Selection("line-monitor", "2.1.0")])
    run_id = create_run(plan, approved_by="carol", devices=[device.id], default=CONFIG_ONLY)
    apply_configuration(run_id)
    return run_id


def shown_overview(qtbot, main_window, run_id):
    overview = main_window.overview
    assert overview is not None and overview.isVisible()
    qtbot.waitUntil(lambda: any(r.id == run_id for r in overview.runs_model.items), timeout=WAIT)
    return overview


def select_run(qtbot, overview, run_id) -> None:
    row = next(i for i, r in enumerate(overview.runs_model.items) if r.id == run_id)
    click_row(qtbot, overview.runs_view, row)
    qtbot.waitUntil(
        lambda: bool(overview.model.rows) and all(r.run == run_id for r in overview.model.rows),
        timeout=WAIT,
    )


def choose(qtbot, overview, action, shot: str | None = None) -> None:
    """Click the toolbar's Roll back button, then `action` in the menu it opens (the menu runs
    its own event loop inside the first click: the second comes from a timer)."""
    menu = overview.rollback.menu
    assert action.isEnabled(), f"{action.text()} is disabled"
    clicked = []

    def pick() -> None:
        if not menu.isVisible():
            QTimer.singleShot(20, pick)
            return
        clicked.append(True)
        if shot is not None:
            grab_with_popup(overview, menu).save(f"{SHOTS}/{shot}.png")
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())

    QTimer.singleShot(0, pick)
    click_action(qtbot, overview, overview.rollback.button_action)
    qtbot.waitUntil(lambda: bool(clicked))


def opened_wizard(qtbot, main_window, before=None):
    qtbot.waitUntil(lambda: main_window.wizard not in (None, before), timeout=WAIT)
    wizard = main_window.wizard
    qtbot.waitUntil(wizard.isVisible)
    return wizard


def test_roll_back_run_from_the_overview_through_the_wizard(
    qtbot, main_window, message_boxes, screenshot
):
    before = snapshot()
    first = run_in_wizard(qtbot, main_window, message_boxes)
    changed = Target.select().where(Target.run == first).order_by(Target.id).first().device.name
    later = later_run_on(changed)
    after_first = snapshot()
    overview = shown_overview(qtbot, main_window, first)
    select_run(qtbot, overview, first)
    rollback = overview.rollback
    assert rollback.run.isEnabled()
    choose(qtbot, overview, rollback.run)

    wizard = opened_wizard(qtbot, main_window)
    assert wizard.windowTitle() == f"Roll back run #{first}"
    page = wizard.deployment_page
    assert wizard.currentPage() is page
    plan = wizard.state.plan
    assert plan.rollback_of == first
    rolled = {t.device.name for t in plan.targets}
    run_devices = {t.device.name for t in Target.select().where(Target.run == first)}
    assert changed not in rolled and rolled <= run_devices
    assert page.model.rowCount() == len(rolled)
    assert page.summary.text().startswith(f"Rolling back run #{first} on {len(rolled)} devices")
    qtbot.mouseClick(page.skipped.toggle, Qt.MouseButton.LeftButton)
    model = page.skipped.model
    reasons = {model.index(r, 0).data(): model.index(r, 5).data() for r in range(model.rowCount())}
    assert reasons[changed] == f"configured 2.1.0 since run #{later}"
    for size in ((1280, 800), (1024, 700)):
        wizard.resize(*size)
        screenshot(wizard, f"rollback-deployment-{size[0]}")
        wizard.grab().save(f"{SHOTS}/wizard-deployment-{size[0]}x{size[1]}.png")

    next_page(qtbot, wizard)
    final = wizard.finalize_page
    assert wizard.currentPage() is final
    assert final.totals.text().startswith(f"<b>Rollback of run #{first}</b> on ")
    device = final.model.index(0, 0)
    app = final.model.index(0, 0, device)
    assert final.model.rowCount(app) > 0  # the modules the rollback changes
    ops = {final.model.index(r, 1, app).data() for r in range(final.model.rowCount(app))}
    assert ops <= {"Added", "Removed", "Modified"}
    for size in ((1280, 800), (1024, 700)):
        wizard.resize(*size)
        wizard.grab().save(f"{SHOTS}/wizard-finalize-{size[0]}x{size[1]}.png")
    rollback_run = approve(qtbot, wizard, message_boxes)

    run = UpdateRun.get_by_id(rollback_run)
    assert run.rollback_of == first and run.reason == f"rollback of run #{first}"
    assert run.configured_at is not None
    now = snapshot()
    for name in rolled:
        assert now[name] == before[name], name
    assert now[changed] == after_first[changed]  # skipped: left as the later run set it

    # the overview lists it, labelled
    qtbot.waitUntil(
        lambda: any(r.id == rollback_run for r in overview.runs_model.items), timeout=WAIT
    )
    row = next(i for i, r in enumerate(overview.runs_model.items) if r.id == rollback_run)
    label = overview.runs_model.index(row, 3).data()
    assert label.startswith(f"rollback of run #{first}: line-monitor → ")
    # the rollback actions are on the tables' right-click menus too
    assert overview.rollback.run in overview.runs_view.actions()
    assert overview.rollback.deployments in overview.view.actions()
    for size in ((1280, 800), (1024, 700)):
        overview.resize(*size)
        qtbot.wait(50)
        overview.grab().save(f"{SHOTS}/overview-{size[0]}x{size[1]}.png")


def test_roll_back_these_deployments_plans_only_their_devices(qtbot, main_window, message_boxes):
    first = run_in_wizard(qtbot, main_window, message_boxes)
    overview = shown_overview(qtbot, main_window, first)
    select_run(qtbot, overview, first)
    rollback = overview.rollback
    assert not rollback.deployments.isEnabled()
    ids = select(qtbot, overview, [0, 2])
    chosen = {r.device for r in overview.selected_rows()}
    assert len(ids) == 2 and rollback.deployments.isEnabled()
    choose(qtbot, overview, rollback.deployments)
    wizard = opened_wizard(qtbot, main_window)
    assert {d.name for d in wizard.state.plan.devices()} == chosen
    assert wizard.deployment_page.model.rowCount() == 2


def test_a_run_with_nothing_to_roll_back_says_why(qtbot, main_window, message_boxes):
    first = run_in_wizard(qtbot, main_window, message_boxes)
    overview = shown_overview(qtbot, main_window, first)
    devices = [t.device.name for t in Target.select().where(Target.run == first)]
    for name in devices:
        later_run_on(name)
    select_run(qtbot, overview, first)
    seen: list[str] = []

    def read_and_close() -> None:
        """Keep a picture of the message, then answer it with OK as a person would."""
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, read_and_close)
            return
        box.grab().save(f"{SHOTS}/nothing-to-roll-back.png")
        seen.append(f"{box.text()}\n{box.informativeText()}")
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, read_and_close)
    overview.resize(1024, 700)
    choose(qtbot, overview, overview.rollback.run, shot="overview-rollback-menu-1024x700")
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT)
    text, reasons = seen[0].split("\n", 1)
    assert text == f"Nothing of run #{first} can be rolled back."
    assert reasons.startswith("No device is configured as the run left it:")
    assert f"{sorted(devices)[0]}: line-monitor configured 2.1.0 since run #" in reasons
    assert main_window.wizard is None


def test_a_run_not_configured_yet_cannot_be_rolled_back(qtbot, main_window):
    plan = plan_update([Selection("line-monitor")])
    run_id = create_run(plan, approved_by="test")
    main_window.show_overview()
    overview = shown_overview(qtbot, main_window, run_id)
    row = next(i for i, r in enumerate(overview.runs_model.items) if r.id == run_id)
    click_row(qtbot, overview.runs_view, row)
    assert overview.selected_run().id == run_id
    assert not overview.rollback.run.isEnabled()
    assert "has not changed any configuration" in overview.rollback.run.toolTip()
    assert overview.rollback.run.toolTip()


def test_rollback_action_opens_no_second_wizard_over_choices(qtbot, main_window, message_boxes):
    first = run_in_wizard(qtbot, main_window, message_boxes)
    overview = shown_overview(qtbot, main_window, first)
    select_run(qtbot, overview, first)
    choose(qtbot, overview, overview.rollback.run)
    wizard = opened_wizard(qtbot, main_window)
    wizard.state.select([wizard.state.plan.targets[0].device.id], False)
    message_boxes.answer()
    seen = len(message_boxes.seen)
    choose(qtbot, overview, overview.rollback.run)
    qtbot.waitUntil(lambda: len(message_boxes.seen) > seen, timeout=WAIT)
    assert "already open" in message_boxes.seen[-1]
    assert main_window.wizard is wizard


@pytest.fixture(autouse=True)
def _overview_deleted(qtbot, main_window):
    """The overview the main window opened goes with the test (the application quits with it)."""
    yield
    overview = main_window.overview
    if overview is not None:
        overview.close()
        overview.deleteLater()
        qtbot.waitUntil(lambda: not overview.isVisible())
