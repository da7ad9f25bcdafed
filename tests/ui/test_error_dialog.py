"""Unexpected errors while the GUI runs: logged, shown in a dialog, the app going on; the
hooks given back; no dialog for an error of the dialog itself.

pytest-qt captures exceptions raised in slots with its own `sys.excepthook`;
`qt_no_exception_capture` lets the application's hook (the one under test) see them."""

from __future__ import annotations

import logging
import sys
import threading

import pytest
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QPushButton

from appupdater import desktop
from appupdater.ui import error_dialog
from appupdater.ui.error_dialog import ErrorReporter

pytestmark = pytest.mark.qt_no_exception_capture


@pytest.fixture
def reporter(qtbot):
    hooks = (sys.excepthook, threading.excepthook)
    reporter = ErrorReporter()
    reporter.install()
    yield reporter
    reporter.uninstall()
    assert (sys.excepthook, threading.excepthook) == hooks


def broken_slot():
    return {}["no such key"]


def test_an_error_in_a_slot_is_logged_and_shown_and_the_app_goes_on(
    qtbot, reporter, caplog, monkeypatch, screenshot
):
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    button = QPushButton("Break")
    qtbot.addWidget(button)
    button.clicked.connect(broken_slot)
    with caplog.at_level(logging.ERROR, logger="appupdater.errors"):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible())
    dialog = reporter.dialog
    assert "KeyError: 'no such key'" in dialog.summary.text()
    assert "in broken_slot" in dialog.summary.text()
    assert str(desktop.log_file()) in dialog.log_label.text()
    assert "unexpected error" in caplog.text and "broken_slot" in caplog.text
    screenshot(dialog, "error-dialog")
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert "Traceback" in copied and "KeyError" in copied and "App Updater" in copied
    qtbot.mouseClick(dialog.folder_button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(desktop.log_dir()))]
    dialog.reject()
    qtbot.waitUntil(lambda: reporter.dialog is None)
    # the same error again: logged and counted, not shown a second time
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: reporter.repeats == 1)
    assert reporter.dialog is None


def test_an_error_in_a_thread_reaches_the_dialog(qtbot, reporter):
    def work():
        raise RuntimeError("worker gave up")

    thread = threading.Thread(target=work, name="importer")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: reporter.dialog is not None)
    assert "RuntimeError: worker gave up" in reporter.dialog.summary.text()
    assert "(in importer)" in reporter.dialog.summary.text()
    reporter.dialog.reject()


def test_an_error_in_the_dialog_itself_is_only_logged(qtbot, reporter, monkeypatch, caplog):
    def broken_dialog(*args, **kwargs):
        raise ValueError("the dialog broke")

    monkeypatch.setattr(error_dialog, "ErrorDialog", broken_dialog)
    with caplog.at_level(logging.ERROR, logger="appupdater.errors"):
        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: "could not show the error dialog" in caplog.text)
    assert reporter.dialog is None
    assert "the dialog broke" in caplog.text


def test_help_opens_the_log_folder(qtbot, main_window, monkeypatch):
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    help_menu = next(m for m in main_window.menuBar().actions() if m.text() == "&Help").menu()
    assert next(a.text() for a in help_menu.actions() if not a.isSeparator()) == "Open &log folder"
    main_window.log_folder_action.trigger()
    assert opened == [QUrl.fromLocalFile(str(desktop.log_dir()))]
    assert desktop.log_dir().is_dir()
