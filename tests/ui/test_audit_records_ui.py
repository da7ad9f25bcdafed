"""What an administrator does in the windows is audited as it is done: a device's connection
saved in its dialog (the token never recorded), deployments cancelled in the overview (one
entry naming them, their devices and the run)."""

from __future__ import annotations

import platform

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from appupdater.core import audit
from appupdater.store.models import Deployment, Device
from appupdater.store.team_models import AuditEntry
from tests.identities import act_as
from tests.ui.drive import click_action, click_row
from tests.ui.test_overview import WAIT
from tests.ui.test_overview_actions import opened, overview, rows_in, said, select

__all__ = ["overview"]  # a fixture, used by name


def test_a_connection_saved_in_its_dialog_is_audited_without_the_token(
    qtbot, main_window, monkeypatch
):
    act_as(monkeypatch, "alice")
    window = main_window
    click_row(qtbot, window.devices_view, 0)
    _, name = window.selected_device()
    token = "a-token-nobody-may-read"

    def fill():
        dialog = QApplication.activeModalWidget()
        qtbot.keyClicks(dialog.endpoint, "https://10.0.3.7:8443")
        qtbot.keyClicks(dialog.token, token)
        save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, fill)
    window.connection_action.trigger()
    [entry] = AuditEntry.select().where(AuditEntry.action == audit.CONNECTION)
    assert (entry.user, entry.os_user, entry.host) == ("alice", "alice", platform.node())
    assert entry.objects == {"devices": [name]}
    assert entry.note == "endpoint none → https://10.0.3.7:8443; token changed"
    assert token not in str(list(AuditEntry.select().tuples()))
    window.close()


def test_deployments_cancelled_in_the_overview_are_audited(
    qtbot, overview, message_boxes, monkeypatch
):
    act_as(monkeypatch, "alice")
    run_id = opened(qtbot, overview)
    ids = select(qtbot, overview, rows_in(overview, "queued")[:2])
    message_boxes.answer(text="Cancel Deployments")
    click_action(qtbot, overview, overview.cancel_action)
    qtbot.waitUntil(lambda: said(overview) == "Cancelled 2 deployments.", timeout=WAIT)
    [entry] = AuditEntry.select().where(AuditEntry.action == audit.CANCEL)
    names = sorted(Device.get_by_id(Deployment.get_by_id(d).device_id).name for d in ids)
    assert (entry.user, entry.run, entry.outcome) == ("alice", run_id, "done")
    assert entry.objects == {"runs": [run_id], "deployments": sorted(ids), "devices": names}
