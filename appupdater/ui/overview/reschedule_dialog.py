"""Choosing a new time for deployments, with the wizard's rules: a future moment, entered in
the workstation's local time."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from appupdater.store.fields import utcnow
from appupdater.ui.timefmt import (
    from_qdatetime,
    local_text,
    next_full_hour,
    to_qdatetime,
    zone_text,
)


class RescheduleDialog(QDialog):
    """A new time for the selected deployments, with the wizard's rules (future, local time)."""

    def __init__(self, count: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Reschedule")
        self.edit = QDateTimeEdit(to_qdatetime(next_full_hour()))
        self.edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.edit.setCalendarPopup(True)
        self.edit.setAccessibleName("New deployment time")
        self.error = QLabel()
        self.error.setStyleSheet("color: #c62828; font-weight: bold;")
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Deploy {count} selected deployment(s) at:"))
        layout.addWidget(self.edit)
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
