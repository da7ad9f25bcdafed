"""*File → Start in the tray at login*: a check mark that tells the truth about the login
entry on disk (a session's settings tool may change it behind our back), and that writes or
removes it when clicked."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMessageBox

from appupdater import desktop
from appupdater.errors import DesktopError


class AutostartAction(QAction):
    def __init__(self, window: QMainWindow):
        super().__init__("Start in the tray at &login", window)
        self.window = window
        self.setCheckable(True)
        self.setStatusTip(
            "Start App Updater in the system tray when you log in, so scheduled deployments run"
        )
        self.setChecked(desktop.autostart_enabled())
        self.toggled.connect(self._toggled)
        # the database the login entry starts on: the one named when this App Updater started
        # (None: $APPUPDATER_DATABASE or the local file, as `desktop.with_database` says)
        self.database: str | None = None

    @Slot()
    def show_truth(self) -> None:
        """Check the entry by the login entry on disk (call when its menu opens)."""
        with QSignalBlocker(self):
            self.setChecked(desktop.autostart_enabled())

    @Slot(bool)
    def _toggled(self, enabled: bool) -> None:
        """Write or remove the login entry; on failure say why and show the truth again."""
        try:
            path = desktop.set_autostart(enabled, database=self.database)
        except DesktopError as exc:
            QMessageBox.warning(self.window, "Start at login", str(exc))
        else:
            self.window.statusBar().showMessage(
                f"App Updater starts in the tray at login ({path})"
                if enabled
                else "App Updater no longer starts at login",
                10_000,
            )
        self.show_truth()
