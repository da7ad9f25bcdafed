"""The application's lifecycle without a tray host: what closing and quitting do while
deployments run; one instance per database; the tray's words and notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from appupdater.core.planning import Selection, plan_update
from appupdater.core.progress import Activity
from appupdater.core.runs import create_run
from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings
from appupdater.store.models import Deployment, Device
from appupdater.ui.app import Application
from appupdater.ui.single_instance import InstanceServer, notify_running
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.tray import Tray, describe_activity


class QuitRecorder:
    """Stands in for QApplication.quit, which would end the test's own event loops."""

    def __init__(self, qapp):
        self.qapp = qapp
        self.calls = 0

    def quit(self):
        self.calls += 1

    def __getattr__(self, name):
        return getattr(self.qapp, name)


@pytest.fixture
def controller(qtbot, qapp, demo_fleet, db_path):
    Device.update(labels={"sim.latency_s": 2.0}).execute()
    # fewer at once than the rollout has devices: some wait queued while others run
    engine = build_engine(EngineSettings(tick_ms=50, concurrency=4))
    app = Application(qapp, engine, tray=False)  # (closed below, not by qtbot: it would ask)
    app.qapp = QuitRecorder(qapp)
    app.start(str(db_path))
    qtbot.waitUntil(lambda: app.window.inventory is not None)
    yield app
    app.quitting = True
    app.window.close()
    app.shutdown()
    qapp.setQuitOnLastWindowClosed(True)


def start_rollout(qtbot, app):
    create_run(plan_update([Selection("line-monitor")]), approved_by="test")
    app.engine.wake()
    qtbot.waitUntil(lambda: app.engine.running > 0, timeout=10_000)


def test_closing_with_nothing_running_just_closes(qtbot, controller):
    assert controller.tray is None
    controller.window.close()
    assert not controller.window.isVisible()


@pytest.mark.parametrize(("choice", "closes"), [("Quit now", True), ("Cancel", False)])
def test_closing_with_deployments_running_asks(qtbot, controller, message_boxes, choice, closes):
    start_rollout(qtbot, controller)
    button = {"Quit now": None, "Cancel": QMessageBox.StandardButton.Cancel}[choice]
    if button is None:
        message_boxes.answer(text="&Quit now")
    else:
        message_boxes.answer(button)
    controller.window.close()
    assert "deployments are running" in message_boxes.seen[0] or (
        "1 deployment is running" in message_boxes.seen[0]
    )
    assert controller.window.isVisible() is not closes


def test_wait_for_running_deployments_then_quit(qtbot, controller, message_boxes):
    start_rollout(qtbot, controller)
    message_boxes.answer(text="&Wait for them")
    controller.window.close()
    assert controller.window.isVisible()
    running = {
        d for (d,) in Deployment.select(Deployment.id).where(Deployment.state == "running").tuples()
    }
    qtbot.waitUntil(lambda: controller.qapp.calls == 1, timeout=20_000)
    # the running ones finished; nothing new was started meanwhile
    finished = (
        Deployment.select()
        .where(Deployment.id.in_(list(running)))
        .where(Deployment.state == "succeeded")
        .count()
    )
    assert finished == len(running)
    assert Deployment.select().where(Deployment.state == "running").count() == 0
    assert Deployment.select().where(Deployment.state == "queued").count() > 0


def test_second_start_brings_the_first_forward(qtbot, tmp_path):
    database = str(tmp_path / "single.sqlite3")
    assert not notify_running(database, timeout_ms=200)
    server = InstanceServer(database)
    with qtbot.waitSignal(server.show_requested, timeout=5000):
        assert notify_running(database)
    server.close()


def test_tray_words_icons_and_notifications(qtbot, demo_fleet, monkeypatch):
    engine = build_engine(EngineSettings())
    tasks = BackgroundTasks()
    tray = Tray(engine, tasks)
    shown = []
    monkeypatch.setattr(
        tray.icon, "showMessage", lambda title, text, *a: shown.append((title, text))
    )
    tray.rebuild_menu()
    texts = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert texts == [
        "Open App Updater",
        "Deployment Overview",
        "Update applications…",
        "Deployments: reading…",
        "Quit",
    ]
    tray._show_activity(Activity(running=2, waiting=1, scheduled=4, failed_recently=0))
    assert tray.icon.toolTip() == "App Updater — 2 running, 1 waiting, 4 scheduled, 0 failed (24 h)"
    # the open menu follows the same read as the tooltip: they agree
    assert (
        tray.status_action.text()
        == "Deployments: 2 running, 1 waiting, 4 scheduled, 0 failed (24 h)"
    )
    tray.rebuild_menu()
    assert tray.status_action.text().removeprefix("Deployments: ") == (
        tray.icon.toolTip().removeprefix("App Updater — ")
    )
    assert describe_activity(None) == "App Updater"
    engine.run_completed.emit(7, 10, 2)
    assert shown[-1] == ("Update run #7 completed", "10 succeeded, 2 failed")
    # failures in a burst share one notification
    for device in ("press-01", "press-02", "press-03"):
        engine.deployment_failed.emit(1, device, "unreachable")
    qtbot.waitUntil(lambda: shown[-1][0] == "3 deployments failed", timeout=7000)
    assert shown[-1][1] == "press-01, press-02, press-03"
    tray.refresh()
    qtbot.waitUntil(lambda: tray.activity is not None and tray.activity.running == 0)
    tasks.shutdown()
    tray.hide()


def test_wizard_approval_hands_the_run_to_the_engine(qtbot, controller, message_boxes):
    from PySide6.QtWidgets import QWizard

    from tests.ui.drive import click_action, click_row, click_wizard, next_page

    Device.update(labels={"sim.latency_s": 0.05}).execute()
    window = controller.window
    click_row(
        qtbot, window.apps_view, [a.name for a in window.apps_model.apps].index("edge-gateway")
    )
    click_action(qtbot, window, window.update_action)
    wizard = window.wizard
    qtbot.waitUntil(wizard.devices_page.isComplete)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    message_boxes.answer(QMessageBox.StandardButton.Ok)
    with qtbot.waitSignal(controller.engine.run_completed, timeout=20_000) as completed:
        click_wizard(qtbot, wizard, QWizard.WizardButton.FinishButton)
    run_id, succeeded, failed = completed.args
    assert succeeded + failed == Deployment.select().where(Deployment.run == run_id).count() > 0
    assert (
        Deployment.select()
        .where((Deployment.run == run_id) & Deployment.state.not_in(["succeeded", "failed"]))
        .count()
        == 0
    )


def test_started_in_the_tray_without_any_tray_it_shows_the_window_after_a_while(
    qtbot, qapp, demo_fleet, db_path, monkeypatch
):
    """At login the panel may never come (a session without a tray): after waiting for one,
    the window opens, so App Updater is not left running invisibly."""
    import appupdater.ui.app as app_module

    monkeypatch.setattr(app_module, "TRAY_WAIT_S", 0.6)
    app = Application(qapp, build_engine(EngineSettings(tick_ms=50)))
    app.qapp = QuitRecorder(qapp)
    try:
        app.start(str(db_path), in_tray=True)
        assert app.tray is None and not app.window.isVisible()
        qtbot.waitUntil(app.window.isVisible, timeout=5000)
        assert app.tray is None
    finally:
        app.quitting = True
        app.window.close()
        app.shutdown()
        qapp.setQuitOnLastWindowClosed(True)


def test_the_heap_keeper_collects_what_a_closed_window_left_settled(qtbot):
    """Soon after a big load is let go, cycles among settled objects are collected."""
    import gc
    import weakref

    from appupdater import heap
    from appupdater.ui.heap_keeper import HeapKeeper

    class Node:
        other = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    heap.settle()
    del a, b
    gc.collect()
    assert ref() is not None
    keeper = HeapKeeper(soon_ms=50)
    keeper.soon()
    try:
        qtbot.waitUntil(lambda: ref() is None, timeout=10_000)
    finally:
        keeper.stop()


def test_closing_the_wizard_asks_for_a_collection(qtbot, controller):
    window = controller.window
    window.apps_view.selectRow(0)
    window.update_applications()
    wizard = window.wizard
    qtbot.waitUntil(lambda: wizard.state.plan is not None)
    with qtbot.waitSignal(window.wizard_closed, timeout=5_000):
        wizard.reject()
    assert controller.heap._soon.isActive()


def schedule_everything(hours: float) -> datetime:
    """A run whose every deployment waits for a time `hours` from now; returns that time."""
    from appupdater.core.runs import DeviceAction, apply_configuration
    from appupdater.store.models import DeployAction

    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)
    plan = plan_update([Selection("line-monitor")])
    devices = [d.id for d in plan.devices()]
    run_id = create_run(
        plan,
        dict.fromkeys(devices, DeviceAction(DeployAction.AT, at)),
        approved_by="test",
        devices=devices,
    )
    apply_configuration(run_id, datetime.now(UTC))
    return at


@pytest.mark.parametrize(
    ("choice", "quits", "at_login"),
    [
        ("&Quit anyway", True, False),
        ("&Start at login, then quit", True, True),
        ("Cancel", False, False),
    ],
)
def test_quit_with_work_waiting_says_so_and_offers_start_at_login(
    qtbot, controller, message_boxes, choice, quits, at_login
):
    from appupdater import desktop
    from appupdater.ui.timefmt import local_text

    at = schedule_everything(3)
    waiting = Deployment.select().where(Deployment.state == "scheduled").count()
    assert waiting > 1 and controller.engine.running == 0
    if choice == "Cancel":
        message_boxes.answer(QMessageBox.StandardButton.Cancel)
    else:
        message_boxes.answer(text=choice)
    controller.window.quit_action.trigger()
    assert message_boxes.seen == [
        f"{waiting} deployments are scheduled; the next is due at {local_text(at)}."
    ]
    assert controller.qapp.calls == (1 if quits else 0)
    assert desktop.autostart_enabled() is at_login


def test_quit_with_work_waiting_offers_no_tray_without_one(qtbot, controller, message_boxes):
    schedule_everything(1)
    buttons = []

    def answer():
        box = QApplication.activeModalWidget()
        buttons.extend(b.text() for b in box.buttons())
        box.reject()

    QTimer.singleShot(50, answer)
    assert controller._confirm_quit() is False
    assert "&Keep running in the tray" not in buttons
    assert {"&Start at login, then quit", "&Quit anyway"} <= set(buttons)
