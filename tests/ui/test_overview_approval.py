"""A run awaiting a second approver in the Deployment Overview: its row says so (who asked, until
when), Approve… and Reject… are offered only to another user (never the requester), Approve…
with a note approves it in the database and the engine deploys it; Reject… needs a note. Users
are OS users (tests/identities.py stands in for a second account). Screenshots in screenshots/approve18/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.store.models import Deployment, UpdateRun
from appupdater.ui.overview.approval_acting import DecisionDialog
from appupdater.ui.overview.window import OverviewWindow
from appupdater.ui.timefmt import local_text
from tests.identities import act_as
from tests.ui.conftest import shots_folder
from tests.ui.drive import click_action, click_row
from tests.ui.test_overview import WAIT, approve

SHOTS = shots_folder("approve18")


@pytest.fixture
def awaiting(demo_fleet, monkeypatch):
    """A run of line-monitor asked for by alice under the second-approver policy."""
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin")
    act_as(monkeypatch, "alice")
    run_id = approve(("line-monitor",), scheduled=2)
    assert UpdateRun.get_by_id(run_id).approval == "awaiting"
    return run_id


def overview_as(qtbot, engine, monkeypatch, user: str) -> OverviewWindow:
    act_as(monkeypatch, user)
    window = OverviewWindow(engine, interval_ms=100)
    window.resize(1280, 800)
    window.show()
    qtbot.waitUntil(lambda: window.indicator.text().startswith("Updated"), timeout=WAIT)
    click_row(qtbot, window.runs_view, 0)
    return window


def status(window) -> str:
    return window.runs_model.index(0, 5).data() or ""


def approved_columns(window) -> tuple[str, str]:
    """The run row's Approved and By."""
    return window.runs_model.index(0, 1).data(), window.runs_model.index(0, 2).data()


def answer_dialog(qtbot, note: str, seen: list[DecisionDialog], ok: bool = True) -> None:
    """When the decision dialog opens: type `note`, then click its Approve/Reject button (or
    look whether it is enabled and cancel, with `ok` False)."""

    def respond() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, DecisionDialog):
            QTimer.singleShot(25, respond)
            return
        seen.append(dialog)
        qtbot.keyClicks(dialog.note, note)
        SHOTS.mkdir(parents=True, exist_ok=True)
        dialog.grab().save(str(SHOTS / f"{dialog.windowTitle().split()[0].lower()}-dialog.png"))
        seen.append(dialog.ok.isEnabled())
        if ok:
            qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
        else:
            dialog.reject()

    QTimer.singleShot(0, respond)


def test_the_requester_is_not_offered_approve(qtbot, awaiting, engine, monkeypatch):
    window = overview_as(qtbot, engine, monkeypatch, "alice")
    try:
        assert status(window).startswith("awaiting approval · asked by alice, until ")
        assert approved_columns(window) == ("—", "asked by alice")  # not approved by anyone
        assert window.approval.approve.isVisible()  # on the toolbar, not enabled for her
        assert not window.approval.approve.isEnabled()
        assert not window.approval.reject.isEnabled()
        assert "you, alice, asked for it" in window.approval.approve.toolTip()
        assert not window.run_acting.abort.isEnabled()  # nothing of it runs yet
    finally:
        window.close()


def test_another_user_approves_with_a_note_and_it_deploys(
    qtbot, awaiting, engine, monkeypatch, message_boxes
):
    window = overview_as(qtbot, engine, monkeypatch, "bob")
    try:
        assert status(window).startswith("awaiting approval · asked by alice")
        for size, name in (
            ((1280, 800), "overview-awaiting-1280x800"),
            ((1024, 700), "overview-awaiting-1024x700"),
        ):
            window.resize(*size)
            QApplication.processEvents()
            SHOTS.mkdir(parents=True, exist_ok=True)
            assert window.grab().save(str(SHOTS / f"{name}.png"))
        window.resize(1280, 800)
        assert window.approval.approve.isEnabled() and window.approval.reject.isEnabled()

        seen: list = []
        answer_dialog(qtbot, "release notes read", seen, ok=False)
        click_action(qtbot, window, window.approval.reject)
        qtbot.waitUntil(lambda: len(seen) == 2)  # the dialog opens once the run is read
        assert seen[1] is True  # a note given: Reject enabled (then cancelled)
        qtbot.waitUntil(lambda: not window.approval._reading)

        seen = []
        answer_dialog(qtbot, "release notes read", seen)
        click_action(qtbot, window, window.approval.approve)
        qtbot.waitUntil(lambda: UpdateRun.get_by_id(awaiting).approval == "approved", timeout=WAIT)
        run = UpdateRun.get_by_id(awaiting)
        assert (run.decided_by, run.decision_note) == ("bob", "release notes read")
        assert run.configured_at is not None
        engine.start()
        qtbot.waitUntil(
            lambda: (
                Deployment.select()
                .where((Deployment.run == awaiting) & (Deployment.state == "succeeded"))
                .exists()
            ),
            timeout=WAIT,
        )
        qtbot.waitUntil(lambda: not status(window).startswith("awaiting"), timeout=WAIT)
        assert not window.approval.approve.isEnabled()
        when, by = approved_columns(window)
        assert by == "bob (asked by alice)"
        assert when == local_text(run.decided_at)
    finally:
        window.close()


def test_reject_needs_a_note(qtbot, awaiting, engine, monkeypatch):
    window = overview_as(qtbot, engine, monkeypatch, "bob")
    try:
        seen: list = []
        answer_dialog(qtbot, "   ", seen, ok=False)
        click_action(qtbot, window, window.approval.reject)
        qtbot.waitUntil(lambda: len(seen) == 2)
        assert seen[1] is False  # only blanks: Reject stays disabled
        qtbot.waitUntil(lambda: not window.approval._reading)
        answer_dialog(qtbot, "not during the night shift", seen)
        click_action(qtbot, window, window.approval.reject)
        qtbot.waitUntil(lambda: UpdateRun.get_by_id(awaiting).approval == "rejected", timeout=WAIT)
        qtbot.waitUntil(
            lambda: status(window) == "rejected by bob: not during the night shift", timeout=WAIT
        )
        assert Deployment.select().where(Deployment.run == awaiting).count() == 0
        dialog = seen[0]
        dialog.resize(520, dialog.sizeHint().height())
    finally:
        window.close()


def test_approve_and_reject_stay_off_the_toolbar_without_a_run_awaiting(
    qtbot, demo_fleet, engine, monkeypatch
):
    approve(("line-monitor",), scheduled=2)  # the policy off: approved when recorded
    window = overview_as(qtbot, engine, monkeypatch, "bob")
    try:
        assert not window.approval.approve.isVisible()
        assert not window.approval.reject.isVisible()
        assert not window.approval.banner.isVisible()
        window.resize(1024, 700)
        QApplication.processEvents()
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(SHOTS / "overview-policy-off-1024x700.png"))
    finally:
        window.close()
