"""Help → About, and File → Start in the tray at login: driven through the menus, checked on
disk."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from appupdater import __version__, desktop
from appupdater.ui.about_dialog import AboutDialog
from tests.ui.drive import LEFT, choose_menu


@pytest.fixture
def window(main_window):
    return main_window


def when_modal(qtbot, kind, handle, problems):
    """Run `handle(widget)` once a modal widget of `kind` is up (it runs a nested loop)."""
    tries = [0]

    def look():
        widget = QApplication.activeModalWidget()
        if isinstance(widget, kind):
            try:
                handle(widget)
            finally:
                widget.reject()
            return
        tries[0] += 1
        if tries[0] > 400:
            problems.append(f"no {kind.__name__} appeared")
            return
        QTimer.singleShot(25, look)

    QTimer.singleShot(0, look)


def test_the_gui_announces_the_desktop_entry_id(qapp):
    assert qapp.desktopFileName() == desktop.DESKTOP_ID == "io.github.appupdater.AppUpdater"


def test_about_tells_versions_and_where_the_data_is_and_copies_it(
    qtbot, window, db_path, screenshot
):
    seen, problems = {}, []

    def inspect(dialog: AboutDialog):
        seen.update({label: field.text() for label, field in dialog.values.items()})
        screenshot(dialog, "about-dialog")
        qtbot.mouseClick(dialog.copy_button, LEFT)
        seen["clipboard"] = QGuiApplication.clipboard().text()
        seen["copy"] = dialog.copy_button.text()

    when_modal(qtbot, AboutDialog, inspect, problems)
    choose_menu(qtbot, window, "Help", "About App Updater")

    assert not problems, problems
    assert seen["Version"] == __version__
    assert seen["Qt"].startswith(__import__("PySide6").QtCore.qVersion())
    assert seen["Python"].startswith(".".join(map(str, __import__("sys").version_info[:2])))
    assert seen["Database"] == str(db_path)
    assert seen["Log"] == str(desktop.log_file())
    assert seen["Menu entry"] == "not installed" and seen["At login"] == "does not start"
    assert f"Database: {db_path}" in seen["clipboard"]
    assert f"Version: {__version__}" in seen["clipboard"] and seen["copy"] == "&Copied"


def test_start_in_the_tray_at_login_writes_and_removes_the_login_entry(qtbot, window):
    action = window.autostart_action
    assert not action.isChecked()

    choose_menu(qtbot, window, "File", "Start in the tray at login")
    assert action.isChecked()
    text = desktop.autostart_path().read_text()
    assert "--tray" in next(line for line in text.splitlines() if line.startswith("Exec="))
    assert "starts in the tray at login" in window.statusBar().currentMessage()

    choose_menu(qtbot, window, "File", "Start in the tray at login")
    assert not action.isChecked() and not desktop.autostart_path().exists()

    # turned on elsewhere (the session's settings, install-desktop --autostart): the menu
    # shows it the next time it opens
    desktop.set_autostart(True)
    bar = window.menuBar()
    file_menu = action.associatedObjects()[0]
    qtbot.mouseClick(bar, LEFT, pos=bar.actionGeometry(file_menu.menuAction()).center())
    qtbot.waitUntil(file_menu.isVisible)
    assert action.isChecked()
    file_menu.hide()


def test_the_login_entry_runs_on_the_database_the_window_was_started_with(qtbot, window, tmp_path):
    """`appupdater --database X`, then File → Start in the tray at login: the tray at login
    runs on X too, not on the local file."""
    chosen = tmp_path / "team" / "fleet.sqlite3"
    window.autostart_action.database = str(chosen)
    choose_menu(qtbot, window, "File", "Start in the tray at login")
    text = desktop.autostart_path().read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert "--tray" in exec_line and f"--database {chosen}" in exec_line
    choose_menu(qtbot, window, "File", "Start in the tray at login")
    assert not desktop.autostart_path().exists()


def test_a_login_entry_that_cannot_be_written_is_explained_and_left_unchecked(
    qtbot, window, tmp_path, message_boxes
):
    (tmp_path / "xdg-config" / "autostart").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "xdg-config" / "autostart").write_text("not a folder")
    message_boxes.answer()
    choose_menu(qtbot, window, "File", "Start in the tray at login")
    qtbot.waitUntil(lambda: bool(message_boxes.seen))
    assert "cannot write the login entry" in message_boxes.seen[0]
    assert not window.autostart_action.isChecked()


def test_file_and_help_menus_read_well(qtbot, window, screenshot):
    from PySide6.QtCore import Qt

    bar = window.menuBar()
    for title, name in (("&File", "menu-file"), ("&Help", "menu-help")):
        [entry] = [a for a in bar.actions() if a.text() == title]
        qtbot.mouseClick(bar, LEFT, pos=bar.actionGeometry(entry).center())
        menu = entry.menu()
        qtbot.waitUntil(menu.isVisible)
        screenshot(menu, name)
        for action in menu.actions():
            if not action.isSeparator():
                assert menu.actionGeometry(action).width() >= menu.fontMetrics().horizontalAdvance(
                    action.text().replace("&", "")
                )
        qtbot.keyClick(menu, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda menu=menu: not menu.isVisible())
