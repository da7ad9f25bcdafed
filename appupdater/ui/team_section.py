"""Settings → Team: whether runs need a second person's approval, and how long a request waits
for it (core/team_settings.py; docs/approval.md). Shared by everyone on the database; stored by
the Settings dialog's OK with the rest."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from appupdater.core.team_settings import ApprovalPolicy, Changed
from appupdater.ui.timefmt import local_text

MAX_HOURS = 24 * 30


def policy_changed_text(changed: Changed | None) -> str:
    if changed is None:
        return (
            "Shared by everyone using this database. Not changed yet: runs need no second approver."
        )
    return (
        f"Shared by everyone using this database. Last changed by {changed.by} on "
        f"{local_text(changed.at)}."
    )


class TeamSection(QWidget):
    """The second-approver switch and the expiry of requests, in hours."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.second_approver = QCheckBox("Runs need a second approver")
        self.second_approver.setToolTip(
            "Approve Update then only requests the run: another person approves or rejects it "
            "before anything is configured or deployed."
        )
        about = QLabel(
            "With this on, Approve Update records the run as awaiting approval. Another person "
            "— never the one who asked — approves it (then it is configured and deployed) or "
            "rejects it, in the Deployment Overview or with appupdater approve or reject."
        )
        about.setWordWrap(True)
        self.expiry = QSpinBox()
        self.expiry.setRange(1, MAX_HOURS)
        self.expiry.setSuffix(" h")
        self.expiry.setAccessibleName("Requests expire after (hours)")
        expiry_label = QLabel("Requests not decided expire after")
        expiry_label.setBuddy(self.expiry)
        expiry_row = QHBoxLayout()
        expiry_row.setContentsMargins(24, 0, 0, 0)
        expiry_row.addWidget(expiry_label)
        expiry_row.addWidget(self.expiry)
        expiry_row.addStretch(1)
        self.last = QLabel()
        self.last.setAccessibleName("Who changed the approval setting")
        self.last.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.second_approver)
        layout.addLayout(expiry_row)
        layout.addWidget(about)
        layout.addWidget(self.last)
        self.second_approver.toggled.connect(self._toggled)
        self.expiry.valueChanged.connect(self.changed)
        self._initial = ApprovalPolicy()

    def set_policy(self, policy: ApprovalPolicy, changed: Changed | None) -> None:
        self._initial = policy
        self.second_approver.setChecked(policy.second_approver)
        self.expiry.setValue(_shown_hours(policy))
        self.expiry.setEnabled(policy.second_approver)
        self.last.setText(policy_changed_text(changed))

    def policy(self) -> ApprovalPolicy:
        """What the boxes say. An expiry of a fraction of an hour (`appupdater policy
        --expires-after 1.5`) is shown rounded, and kept as it is unless the person changed
        the number."""
        hours = self.expiry.value()
        kept = hours == _shown_hours(self._initial)
        expires = self._initial.expires_after if kept else timedelta(hours=hours)
        return ApprovalPolicy(self.second_approver.isChecked(), expires)

    def is_changed(self) -> bool:
        """Whether the person changed anything (only then is it stored, and audited)."""
        return self.policy() != self._initial

    def _toggled(self, on: bool) -> None:
        self.expiry.setEnabled(on)
        self.changed.emit()


def _shown_hours(policy: ApprovalPolicy) -> int:
    """The expiry in the box's whole hours (at least 1)."""
    return max(1, round(policy.expires_after.total_seconds() / 3600))
