"""The main window's menus and toolbar, over the actions it created."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from appupdater.ui.settings_dialog import open_settings

if TYPE_CHECKING:
    from appupdater.ui.audit_window import AuditWindow
    from appupdater.ui.main_window import MainWindow


def build_menus(window: MainWindow) -> None:
    file_menu = window.menuBar().addMenu("&File")
    file_menu.addAction(window.import_action)
    file_menu.addAction(window.export_action)
    file_menu.addSeparator()
    file_menu.addAction(window.autostart_action)
    file_menu.aboutToShow.connect(window.autostart_action.show_truth)
    settings_action = QAction("&Settings…", window)
    settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
    settings_action.setStatusTip("Settings shared by everyone using this database")
    settings_action.triggered.connect(lambda: open_settings(window, window.tasks))
    file_menu.addAction(settings_action)
    file_menu.addSeparator()
    file_menu.addAction(window.quit_action)
    update_menu = window.menuBar().addMenu("&Update")
    update_menu.addAction(window.update_action)
    update_menu.addAction(window.overview_action)
    devices_menu = window.menuBar().addMenu("&Devices")
    devices_menu.addAction(history_action(window))
    devices_menu.addAction(window.connection_action)
    view_menu = window.menuBar().addMenu("&View")
    view_menu.addAction(window.refresh_action)
    view_menu.addSeparator()
    view_menu.addAction(audit_action(window))
    view_menu.addAction(window.engines_action)
    help_menu = window.menuBar().addMenu("&Help")
    help_menu.addAction(window.log_folder_action)
    help_menu.addSeparator()
    help_menu.addAction(window.about_action)
    help_menu.addAction(window.about_qt_action)

    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main-toolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.setMovable(False)
    for action in (
        window.update_action,
        window.overview_action,
        window.import_action,
        window.export_action,
    ):
        toolbar.addAction(action)
    toolbar.addSeparator()
    toolbar.addAction(window.quit_action)


def history_action(window: MainWindow) -> QAction:
    """Devices → History…: the selected device's configuration revisions; enabled while one
    device is selected. Also in the device table's context menu."""
    action = QAction("&History…", window)
    action.setObjectName("device-history-action")
    action.setShortcut(QKeySequence("Ctrl+H"))
    action.setStatusTip("The selected device's configuration revisions, and reverting to one")
    action.triggered.connect(window.show_device_history)
    action.setEnabled(False)

    def follow() -> None:
        action.setEnabled(window.selected_device() is not None)

    window.devices_view.selectionModel().selectionChanged.connect(follow)
    window.devices_model.modelReset.connect(follow)
    window.devices_view.addAction(action)
    return action


class AuditOpener(QObject):
    """Keeps the one Audit log window of the main window: opened on first use, raised after."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName("audit-opener")
        self.main = window
        self.audit: AuditWindow | None = None

    def open(self) -> AuditWindow:
        from appupdater.ui.audit_window import AuditWindow

        if self.audit is None:
            self.audit = AuditWindow(self.main)
            self.audit.open_run.connect(self.main.show_overview)
        elif not self.audit.isVisible():
            self.audit.refresh()  # it read nothing while closed
        self.audit.show()
        self.audit.raise_()
        self.audit.activateWindow()
        return self.audit


def audit_action(window: MainWindow) -> QAction:
    """View → Audit log…: who did what, when and from where (one window, raised if open)."""
    action = QAction("&Audit log…", window)
    action.setObjectName("audit-log-action")
    action.setShortcut(QKeySequence("Ctrl+L"))
    action.setStatusTip("Who did what and when: approvals, cancels, imports, settings")
    action.triggered.connect(AuditOpener(window).open)
    return action
