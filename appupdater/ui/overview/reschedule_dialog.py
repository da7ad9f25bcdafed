"""Choosing a new time for deployments, with the wizard's rules: a future moment, entered in
the workstation's local time. It starts from the time they are scheduled for now, so that
moving them by an hour is a small edit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.words import plural
from appupdater.store.fields import utcnow
from appupdater.ui.timefmt import (
    from_qdatetime,
    local_text,
    next_full_hour,
    to_qdatetime,
    zone_text,
)


def starting_time(scheduled: Sequence[datetime], now: datetime) -> datetime:
    """Where the editor starts: the earliest of the deployments' current times that is still
    ahead, else the next full hour."""
    ahead = [moment for moment in scheduled if moment > now]
    return min(ahead) if ahead else next_full_hour(now)


def scheduled_text(scheduled: Sequence[datetime]) -> str:
    """`Now scheduled for …`, or the span of several times; empty when none has a time."""
    if not scheduled:
        return ""
    first, last = min(scheduled), max(scheduled)
    if first == last:
        return f"Now scheduled for {local_text(first)}."
    return f"Now scheduled between {local_text(first)} and {local_text(last)}."


class RescheduleDialog(QDialog):
    """A new time for the selected deployments, with the wizard's rules (future, local time)."""

    def __init__(
        self, count: int, parent: QWidget | None = None, scheduled: Sequence[datetime] = ()
    ):
        super().__init__(parent)
        self.setWindowTitle("Reschedule")
        self.edit = QDateTimeEdit(to_qdatetime(starting_time(scheduled, utcnow())))
        self.edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.edit.setCalendarPopup(True)
        self.edit.setAccessibleName("New deployment time")
        self.current = QLabel(scheduled_text(scheduled))
        self.current.setVisible(bool(scheduled))
        self.error = QLabel()
        self.error.setStyleSheet("color: #c62828; font-weight: bold;")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Deploy {plural(count, 'selected deployment')} at:"))
        layout.addWidget(self.edit)
        layout.addWidget(self.current)
        layout.addWidget(QLabel(f"Times are in {zone_text()}"))
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def chosen(self) -> datetime:
        return from_qdatetime(self.edit.dateTime())

    def _accept(self) -> None:
        if self.chosen() <= utcnow():
            self.error.setText(f"{local_text(self.chosen())} is in the past: choose a later time.")
            self.error.show()
            return
        self.accept()
