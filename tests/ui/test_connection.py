"""Entering a device's agent connection in the main window: stored, checked, token never
shown again."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from appupdater.store.models import Device
from appupdater.ui.connection_dialog import ConnectionDialog
from tests.ui.drive import click_row


def test_connection_dialog_stores_endpoint_and_token(qtbot, main_window, screenshot):
    window = main_window
    assert not window.connection_action.isEnabled()
    click_row(qtbot, window.devices_view, 0)
    device_id, name = window.selected_device()
    assert window.connection_action.isEnabled()
    seen = []

    def fill():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ConnectionDialog)
        seen.append(dialog)
        save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
        qtbot.keyClicks(dialog.endpoint, "ftp://press:21")
        assert not save.isEnabled() and "must start with https://" in dialog.error.text()
        dialog.endpoint.clear()
        qtbot.keyClicks(dialog.endpoint, "https://10.0.3.7:8443")
        qtbot.keyClicks(dialog.token, "short")
        assert not save.isEnabled() and "16 characters" in dialog.error.text()
        qtbot.keyClicks(dialog.token, "-but-now-long-enough")
        assert save.isEnabled() and dialog.error.text() == ""
        screenshot(dialog, "device-connection")
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, fill)
    window.connection_action.trigger()
    assert seen
    device = Device.get_by_id(device_id)
    assert device.endpoint == "https://10.0.3.7:8443"
    assert device.token == "short-but-now-long-enough"

    def check_again():
        dialog = QApplication.activeModalWidget()
        seen.append(dialog)
        assert dialog.token.text() == ""  # never shown again
        assert "a token is stored" in dialog.token.placeholderText()
        assert dialog.endpoint.text() == "https://10.0.3.7:8443"
        dialog.remove_token.click()
        qtbot.mouseClick(
            dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
        )

    QTimer.singleShot(0, check_again)
    window.connection_action.trigger()
    assert len(seen) == 2
    assert Device.get_by_id(device_id).token is None
    assert Device.get_by_id(device_id).endpoint == "https://10.0.3.7:8443"
    window.close()
    assert name in seen[0].windowTitle()


def test_an_unfinished_address_is_named_and_cannot_be_saved(qtbot, main_window, screenshot):
    """Typing ``https://[`` key by key (an IPv6 address begun) never raises; the dialog says
    what is wrong and Save stays disabled until the endpoint is whole; nothing is stored."""
    window = main_window
    click_row(qtbot, window.devices_view, 0)
    device_id, _ = window.selected_device()
    before = Device.get_by_id(device_id).endpoint
    seen = []

    def type_it():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ConnectionDialog)
        seen.append(dialog)
        save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
        dialog.endpoint.clear()
        for text in ("https://[", "http://[::1:8443", "https://[::1"):
            dialog.endpoint.clear()
            qtbot.keyClicks(dialog.endpoint, text)
            assert not save.isEnabled(), text
            assert "endpoint" in dialog.error.text().lower(), text
        screenshot(dialog, "device-connection-unfinished-address")
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)  # disabled: does nothing
        assert dialog.isVisible()
        dialog.endpoint.clear()
        qtbot.keyClicks(dialog.endpoint, "https://[::1]:8443")
        assert save.isEnabled() and dialog.error.text() == ""
        dialog.reject()

    QTimer.singleShot(0, type_it)
    window.connection_action.trigger()
    assert seen
    assert Device.get_by_id(device_id).endpoint == before
