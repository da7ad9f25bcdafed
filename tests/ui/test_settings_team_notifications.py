"""Settings → Team (the second approver and the expiry of its requests, stored on OK for the whole
team) and Settings → Notifications (webhooks added, tested and removed at once, with the last
deliveries and their HTTP status), driven as a person would."""

from __future__ import annotations

import getpass
from datetime import timedelta

from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QApplication

from appupdater.core import webhooks
from appupdater.core.team_settings import (
    ApprovalPolicy,
    approval_policy,
    last_changed,
    set_approval_policy,
)
from appupdater.core.urls import redacted_url
from appupdater.store.team_models import TeamSetting, Webhook
from appupdater.ui.notifications_section import AddWebhookDialog
from tests.ui.conftest import shots_folder
from tests.ui.drive import LEFT
from tests.ui.test_settings_dialog import click_ok, closed, open_settings_dialog

SHOTS = shots_folder("webhooks18")


def open_tab(qtbot, dialog, title):
    bar = dialog.tabs.tabBar()
    [index] = [i for i in range(bar.count()) if bar.tabText(i) == title]
    qtbot.mouseClick(bar, LEFT, pos=bar.tabRect(index).center())
    assert dialog.tabs.currentIndex() == index


def tick(qtbot, box):
    """Click a check box on its box (its row stretches far beyond its words)."""
    qtbot.mouseClick(box, LEFT, pos=QPoint(8, box.height() // 2))


def shots(qtbot, dialog, name, folder=SHOTS):
    """The dialog at its natural size, and at 1280×800 and 1024×700."""
    folder.mkdir(parents=True, exist_ok=True)
    dialog.adjustSize()
    QApplication.processEvents()
    assert dialog.grab().save(str(folder / f"{name}.png"))
    for width, height in ((1280, 800), (1024, 700)):
        dialog.resize(width, height)
        qtbot.waitUntil(lambda w=width: dialog.width() == w)
        assert dialog.grab().save(str(folder / f"{name}-{width}x{height}.png"))
    dialog.adjustSize()


def test_team_second_approver_is_stored_for_everyone_on_ok(qtbot, main_window):
    dialog = open_settings_dialog(qtbot, main_window)
    open_tab(qtbot, dialog, "Team")
    team = dialog.team
    assert not team.second_approver.isChecked() and not team.expiry.isEnabled()
    assert team.expiry.value() == 24
    assert "Not changed yet" in team.last.text()
    tick(qtbot, team.second_approver)
    assert team.expiry.isEnabled()
    team.expiry.selectAll()
    qtbot.keyClicks(team.expiry, "8")
    shots(qtbot, dialog, "settings-team")
    click_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: closed(dialog))
    assert approval_policy() == ApprovalPolicy(True, timedelta(hours=8))
    assert last_changed("second_approver").by == getpass.getuser()

    dialog = open_settings_dialog(qtbot, main_window)
    open_tab(qtbot, dialog, "Team")
    assert dialog.team.second_approver.isChecked() and dialog.team.expiry.value() == 8
    assert f"Last changed by {getpass.getuser()}" in dialog.team.last.text()
    tick(qtbot, dialog.team.second_approver)
    qtbot.mouseClick(dialog.cancel, LEFT)  # Cancel keeps what was stored
    qtbot.waitUntil(lambda: closed(dialog))
    assert approval_policy().second_approver


def test_team_policy_untouched_is_not_written_again(qtbot, main_window):
    dialog = open_settings_dialog(qtbot, main_window)
    click_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: closed(dialog))
    assert TeamSetting.get_or_none(TeamSetting.name == "second_approver") is None


def fill_add_dialog(qtbot, url, *, secret="", untick=(), then_url=None):
    """Answer the Add Webhook dialog like a person: type, untick events, click Add (and when
    `then_url` is given, read the refusal, correct the URL and click Add again)."""
    seen: list[str] = []

    def fill():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, AddWebhookDialog):
            QTimer.singleShot(20, fill)
            return
        qtbot.keyClicks(dialog.url, url)
        qtbot.keyClicks(dialog.secret, secret)
        for event in untick:
            tick(qtbot, dialog.events[event])
        qtbot.mouseClick(dialog.ok, LEFT)
        if then_url is not None:
            seen.append(dialog.problem.text() if dialog.problem.isVisible() else "")
            dialog.adjustSize()
            SHOTS.mkdir(parents=True, exist_ok=True)
            dialog.grab().save(str(SHOTS / "settings-add-webhook-refused.png"))
            dialog.url.selectAll()
            qtbot.keyClicks(dialog.url, then_url)
            qtbot.mouseClick(dialog.ok, LEFT)

    QTimer.singleShot(0, fill)
    return seen


def test_notifications_add_test_and_remove_a_webhook(qtbot, main_window, receiver, message_boxes):
    dialog = open_settings_dialog(qtbot, main_window)
    open_tab(qtbot, dialog, "Notifications")
    section = dialog.notifications
    qtbot.waitUntil(section.add.isEnabled)  # the webhooks are read
    assert section.table.rowCount() == 0
    assert not section.remove.isEnabled() and not section.test.isEnabled()

    seen = fill_add_dialog(
        qtbot,
        "ftp://chat.example/hook",
        secret="s3cret",
        untick=("deployment.failed",),
        then_url=receiver.url(),
    )
    qtbot.mouseClick(section.add, LEFT)
    assert seen == [
        "A webhook URL must start with http:// or https:// (not ftp:; nothing was added)."
    ]
    qtbot.waitUntil(lambda: section.table.rowCount() == 1)
    hook = Webhook.get()
    assert (hook.url, hook.secret) == (receiver.url(), "s3cret")
    shown = redacted_url(receiver.url())  # the path may hold a credential: never shown
    assert "deployment.failed" not in hook.events and "run.paused" in hook.events
    assert section.table.item(0, 1).text() == "all but deployment failed"
    assert not dialog.restore.isVisible()  # the Rollouts tab's
    assert section.table.item(0, 0).text() == f"{shown}  (signed)"
    assert "s3cret" not in section.table.item(0, 0).text()
    assert section.table.item(0, 2).text() == "none yet"
    assert section.status.text() == f"Added {shown}."

    receiver.answers = [500]
    qtbot.mouseClick(section.test, LEFT)
    qtbot.waitUntil(lambda: "refused the test message: HTTP 500" in section.status.text())
    qtbot.waitUntil(section.test.isEnabled)  # as a person would: the list is read again first
    qtbot.mouseClick(section.test, LEFT)
    qtbot.waitUntil(lambda: "delivered" in section.status.text())
    assert section.status.text() == f"Test message delivered to {shown}: HTTP 200."
    qtbot.waitUntil(lambda: section.deliveries.rowCount() == 2)
    results = [section.deliveries.item(r, 3).text() for r in range(2)]
    assert results == ["HTTP 200", "HTTP 500"]
    assert section.deliveries.item(0, 1).text() == "test"
    assert section.table.item(0, 2).text().startswith("HTTP 200, ")
    assert len(receiver.received) == 2 and receiver.received[1].signed_with("s3cret")
    webhooks.add_webhook("https://chat.example/other?token=abc", events="run.paused")
    section.refresh()
    qtbot.waitUntil(lambda: section.table.rowCount() == 2)
    assert section.table.item(1, 0).text() == "https://chat.example/…"
    assert section.table.item(1, 1).text() == "run paused"
    assert section.history.text() == (
        "Delivery history is kept for 30 days; the last 20 attempts of each webhook are always kept."
    )
    assert section.history.isVisible()
    shots(qtbot, dialog, "settings-notifications", shots_folder("webhookprune"))

    message_boxes.answer(text="Remove")
    qtbot.mouseClick(section.remove, LEFT)
    qtbot.waitUntil(lambda: section.table.rowCount() == 1)
    assert message_boxes.seen == [f"Remove the webhook {shown}?"]
    assert section.status.text() == f"Removed {shown}."
    assert [h.url for h in webhooks.webhooks()] == ["https://chat.example/other?token=abc"]


def test_ok_keeps_an_expiry_of_a_fraction_of_an_hour_set_on_the_command_line(qtbot, main_window):
    set_approval_policy(ApprovalPolicy(True, timedelta(minutes=90)), by="carol")
    dialog = open_settings_dialog(qtbot, main_window)
    open_tab(qtbot, dialog, "Team")
    assert dialog.team.expiry.value() == 2  # shown rounded
    assert not dialog.team.is_changed()
    click_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: closed(dialog))
    assert approval_policy() == ApprovalPolicy(True, timedelta(minutes=90))
    assert last_changed("second_approver").by == "carol"  # not stored again by this user
