"""File → Settings…: what a team shares through its database (core/team_settings.py), on three
tabs: Rollouts (the strategy new runs start from, in the same box as the Deployment page's), Team
(the second approver, ui/team_section.py) and Notifications (webhooks, ui/notifications_section.py,
which act at once). OK saves the first two off the GUI thread, so that a database another
program holds locked does not freeze the window; the dialog then says so and keeps what was
entered."""

from __future__ import annotations

import sqlite3

import peewee
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.identity import who
from appupdater.core.team_settings import (
    SECOND_APPROVER,
    ApprovalPolicy,
    Changed,
    approval_policy,
    default_strategy,
    last_changed,
    set_approval_policy,
    set_default_strategy,
)
from appupdater.core.waves import Strategy
from appupdater.errors import AppUpdaterError
from appupdater.store.db import database_problem
from appupdater.ui.notifications_section import NotificationsSection
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.team_section import TeamSection
from appupdater.ui.wizard.strategy_box import StrategyBox

EXAMPLE_DEVICES = 100  # the preview says what the waves come to for this many devices
SHARED = "Shared by everyone using this database."


def changed_text(changed: Changed | None) -> str:
    """ "Shared by everyone … Last changed by alice on 28 Nov 2026 09:30." (local time)."""
    if changed is None:
        return f"{SHARED} Not changed yet: new runs start all at once."
    at = changed.at.astimezone().strftime("%d %b %Y %H:%M").lstrip("0")
    return f"{SHARED} Last changed by {changed.by} on {at}."


class SettingsDialog(QDialog):
    """The team's settings; OK stores them (as the workstation's user), Cancel drops them."""

    saved = Signal()

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.setWindowTitle("Settings")
        section = QLabel("Rollouts")
        font = section.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        section.setFont(font)
        self.strategy_box = StrategyBox("Default strategy for new runs", any_total=True)
        self.changed = QLabel(changed_text(last_changed()))
        self.changed.setAccessibleName("Who changed the settings")
        self.changed.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setAccessibleName("Settings not saved")
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.setStyleSheet("color: #b3261e; font-weight: bold;")
        self.problem.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.restore = self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        self.cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.restore.setToolTip("New runs start all at once, as without a team default.")

        rollouts = QWidget()
        rollouts_layout = QVBoxLayout(rollouts)
        rollouts_layout.addWidget(section)
        rollouts_layout.addWidget(self.strategy_box)
        rollouts_layout.addWidget(self.changed)
        rollouts_layout.addStretch(1)
        self.team = TeamSection()
        team = QWidget()
        team_layout = QVBoxLayout(team)
        team_layout.addWidget(self.team)
        team_layout.addStretch(1)
        self.notifications = NotificationsSection(tasks)
        notifications = QWidget()
        QVBoxLayout(notifications).addWidget(self.notifications)
        self.tabs = QTabWidget()
        self.tabs.addTab(rollouts, "Rollouts")
        self.tabs.addTab(team, "Team")
        self.tabs.addTab(notifications, "Notifications")
        # Restore Defaults is the strategy's: shown on its tab only
        self.tabs.currentChanged.connect(lambda index: self.restore.setVisible(index == 0))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

        self.strategy_box.set_strategy(default_strategy())
        self.team.set_policy(approval_policy(), last_changed(SECOND_APPROVER))
        self.strategy_box.changed.connect(self._changed)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.clicked.connect(self._clicked)
        self._saving: int | None = None
        self._changed()

    def chosen(self) -> Strategy | None:
        """The strategy the box says (None: all at once)."""
        return self.strategy_box.strategy(EXAMPLE_DEVICES)

    def accept(self) -> None:
        """Store the default off the GUI thread; close once it is stored."""
        if self._saving is not None or self.strategy_box.problem() is not None:
            return
        strategy = self.chosen()
        policy = self.team.policy() if self.team.is_changed() else None
        self._set_busy(True)
        self._saving = self.tasks.submit(
            lambda: save(strategy, policy), self._saved, self._not_saved
        )

    def reject(self) -> None:
        """Cancel, Esc, the close button: not while the default is being stored (the write
        cannot be taken back, so closing as if nothing changed would lie); it closes when
        stored, or says why not."""
        if self._saving is not None:
            return
        super().reject()

    def _saved(self, _result: object) -> None:
        self._saving = None
        self._set_busy(False)
        self.saved.emit()
        super().accept()

    def _not_saved(self, error: BaseException) -> None:
        self._saving = None
        self._set_busy(False)
        if isinstance(error, peewee.PeeweeException | sqlite3.Error):
            error = database_problem(error)
        elif not isinstance(error, AppUpdaterError | OSError):
            raise error  # a bug of ours: the error dialog takes it
        self.problem.setText(f"The settings were not saved: {error}")
        self.problem.show()

    def _set_busy(self, busy: bool) -> None:
        self.strategy_box.setEnabled(not busy)
        self.team.setEnabled(not busy)
        self.restore.setEnabled(not busy)
        self.cancel.setEnabled(not busy)
        self.ok.setEnabled(not busy and self.strategy_box.problem() is None)
        self.problem.hide()

    def _clicked(self, button: QAbstractButton) -> None:
        if button is self.restore:
            self.strategy_box.restore_defaults()

    def _changed(self) -> None:
        self.ok.setEnabled(self._saving is None and self.strategy_box.problem() is None)
        strategy = self.chosen()
        if strategy is None:
            self.strategy_box.preview.setText("Every device deploys as soon as a run is approved.")
            return
        self.strategy_box.show_sizes(strategy.sizes(EXAMPLE_DEVICES))
        if self.strategy_box.preview.text():
            self.strategy_box.preview.setText(
                f"For {EXAMPLE_DEVICES} devices: {self.strategy_box.preview.text()}"
            )


def save(strategy: Strategy | None, policy: ApprovalPolicy | None) -> None:
    """What OK stores, as the acting user (identity.who); the policy only when it changed."""
    user = who().user
    set_default_strategy(strategy, by=user)
    if policy is not None:
        set_approval_policy(policy, by=user)


def open_settings(parent: QWidget, tasks: BackgroundTasks) -> SettingsDialog:
    """Show the Settings dialog over `parent` (the one already open, if there is one)."""
    shown = [d for d in parent.findChildren(SettingsDialog) if d.isVisible()]
    if shown:
        shown[0].raise_()
        shown[0].activateWindow()
        return shown[0]
    dialog = SettingsDialog(tasks, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()
    return dialog
