"""The system tray icon: what the engine is doing, a menu, and notifications."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from appupdater.core.progress import Activity, current_activity
from appupdater.engine.engine import Engine
from appupdater.store.fields import utcnow
from appupdater.ui.icons import icon
from appupdater.ui.tasks import BackgroundTasks

FAILURE_NOTICE_GAP_S = 5.0  # failures closer together than this share one notification


def activity_counts(activity: Activity) -> str:
    """`2 running, 1 waiting, 4 scheduled, 0 failed (24 h)`: what the tooltip and the menu
    both tell, from one read, so that they agree."""
    parts = [f"{activity.running} running"]
    if activity.waiting:
        parts.append(f"{activity.waiting} waiting")
    parts.append(f"{activity.scheduled} scheduled")
    parts.append(f"{activity.failed_recently} failed (24 h)")
    return ", ".join(parts)


def describe_activity(activity: Activity | None) -> str:
    """The tooltip."""
    if activity is None:
        return "App Updater"
    return "App Updater — " + activity_counts(activity)


def menu_status(activity: Activity | None) -> str:
    """The menu's status line: the tooltip's counts (all processes on this database)."""
    if activity is None:
        return "Deployments: reading…"
    return "Deployments: " + activity_counts(activity)


class Tray(QObject):
    """Icon idle / working / failed, tooltip with counts, a menu rebuilt each time it opens."""

    open_requested = Signal()
    overview_requested = Signal()
    update_requested = Signal()
    quit_requested = Signal()

    def __init__(self, engine: Engine, tasks: BackgroundTasks, parent: QObject | None = None):
        super().__init__(parent)
        self.engine = engine
        self.tasks = tasks
        self.activity: Activity | None = None
        self.icon = QSystemTrayIcon(icon("tray-idle"), self)
        self.icon.setToolTip("App Updater")
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.menu.aboutToShow.connect(self.refresh)
        self.status_action: QAction | None = None
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self._refreshing = False
        self._last_failure_notice = 0.0
        self._pending_failures: list[tuple[str, str]] = []
        self.poll = QTimer(self)
        self.poll.setObjectName("tray-poll")
        self.poll.setInterval(2000)
        self.poll.timeout.connect(self.refresh)
        engine.changed.connect(self.refresh)
        engine.run_completed.connect(self._run_completed)
        engine.deployment_failed.connect(self._deployment_failed)
        engine.run_paused.connect(self._run_paused)
        self.rebuild_menu()

    def show(self) -> None:
        self.icon.show()
        self.poll.start()
        self.refresh()

    def hide(self) -> None:
        self.poll.stop()
        self.icon.hide()

    def refresh(self) -> None:
        """Read the counts in the background (at most one read at a time)."""
        if self._refreshing:
            return
        self._refreshing = True
        self.tasks.submit(
            lambda: current_activity(utcnow()), self._show_activity, self._failed_read
        )

    def _show_activity(self, activity: Activity) -> None:
        self._refreshing = False
        self.activity = activity
        if activity.failed_recently:
            name = "tray-failed"
        elif activity.running or activity.waiting:
            name = "tray-working"
        else:
            name = "tray-idle"
        self.icon.setIcon(icon(name))
        self.icon.setToolTip(describe_activity(activity))
        if self.status_action is not None:  # the open menu follows the tooltip
            self.status_action.setText(menu_status(activity))

    def _failed_read(self, error: BaseException) -> None:
        self._refreshing = False
        self.icon.setToolTip(f"App Updater — cannot read the database: {error}")

    def rebuild_menu(self) -> None:
        self.status_action = None
        self.menu.clear()
        open_action = QAction(icon("appupdater"), "Open App Updater", self.menu)
        open_action.triggered.connect(self.open_requested)
        overview_action = QAction(icon("overview"), "Deployment Overview", self.menu)
        overview_action.triggered.connect(self.overview_requested)
        update_action = QAction(icon("update"), "Update applications…", self.menu)
        update_action.triggered.connect(self.update_requested)
        status = self.status_action = QAction(menu_status(self.activity), self.menu)
        status.setEnabled(False)
        quit_action = QAction(icon("quit"), "Quit", self.menu)
        quit_action.triggered.connect(self.quit_requested)
        for action in (
            open_action,
            overview_action,
            update_action,
            None,
            status,
            None,
            quit_action,
        ):
            if action is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(action)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_requested.emit()

    def _run_completed(self, run_id: int, succeeded: int, failed: int) -> None:
        kind = (
            QSystemTrayIcon.MessageIcon.Warning
            if failed
            else QSystemTrayIcon.MessageIcon.Information
        )
        self.icon.showMessage(
            f"Update run #{run_id} completed",
            f"{succeeded} succeeded, {failed} failed",
            kind,
            10_000,
        )
        self.refresh()

    def _run_paused(self, run_id: int, reason: str) -> None:
        """A run paused by its failure limit: it waits for a person, so the notice stays until
        clicked away (timeout 0)."""
        self.icon.showMessage(
            f"Update run #{run_id} paused",
            f"{reason}. Nothing new of it starts until it is resumed or aborted.",
            QSystemTrayIcon.MessageIcon.Warning,
            0,
        )
        self.refresh()

    def _deployment_failed(self, deployment_id: int, device: str, message: str) -> None:
        self._pending_failures.append((device, message))
        wait = FAILURE_NOTICE_GAP_S - (time.monotonic() - self._last_failure_notice)
        if len(self._pending_failures) == 1:
            QTimer.singleShot(max(0, int(wait * 1000)), self._notify_failures)

    def _notify_failures(self) -> None:
        failures, self._pending_failures = self._pending_failures, []
        if not failures:
            return
        self._last_failure_notice = time.monotonic()
        if len(failures) == 1:
            device, message = failures[0]
            title, text = f"Deployment failed on {device}", message
        else:
            title = f"{len(failures)} deployments failed"
            text = ", ".join(device for device, _ in failures[:5])
        self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Critical, 10_000)
