"""The selected deployment below the list: its event log beside the module changes it carries
(what the device undergoes)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.carried import CarriedChange
from appupdater.core.overview import DeploymentRow
from appupdater.ui.change_items import module_change_item
from appupdater.ui.icons import icon
from appupdater.ui.timefmt import local_times_in

Carried = list[CarriedChange]

LOG_HINT = "Select a deployment above to see its event log."
CHANGES_HINT = "Select a deployment above to see the module changes it carries."
NO_EVENTS = "No events recorded for this deployment yet."
NO_CHANGES = "This deployment carries no module changes."


class HintTree(QTreeWidget):
    """A tree that says, in its empty area, what would fill it."""

    def __init__(self, hint: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._hint = hint

    def hint(self) -> str:
        return self._hint

    def set_hint(self, hint: str) -> None:
        self._hint = hint
        self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.topLevelItemCount():
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(self.palette().ColorRole.PlaceholderText))
        area = QRect(self.viewport().rect()).adjusted(12, 12, -12, -12)
        painter.drawText(
            area,
            int(
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
            ),
            self._hint,
        )
        painter.end()


def heading(row: DeploymentRow) -> str:
    """The selected deployment in one line above its log, with its whole last message (the
    table's column is often too narrow for it)."""
    state = f"{row.state} ({row.phase})" if row.phase else row.state
    message = local_times_in(row.message)
    return f"{row.device} — {state}" + (f": {message}" if message else "")


class DeploymentDetails(QSplitter):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.heading = QLabel()
        self.heading.setAccessibleName("Selected deployment")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.hide()
        self.log = HintTree(LOG_HINT)
        self.log.setAccessibleName("Event log")
        self.log.setHeaderLabels(["Time", "Level", "Event"])
        self.log.setRootIsDecorated(False)
        self.log.setColumnWidth(0, 150)
        self.log.setColumnWidth(1, 60)
        self.changes = HintTree(CHANGES_HINT)
        self.changes.setAccessibleName("Module changes")
        self.changes.setHeaderLabels(["Application / module", "Operation", "From", "To"])
        self.changes.setColumnWidth(0, 170)
        self.changes.setColumnWidth(1, 90)
        self.changes.setColumnWidth(2, 75)
        left = QWidget()
        layout = QVBoxLayout(left)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.heading)
        layout.addWidget(self.log, 1)
        self.addWidget(left)
        self.addWidget(self.changes)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.setSizes([760, 520])

    def clear(self) -> None:
        """Nothing selected: the panes say what to select."""
        self.heading.hide()
        self._empty(LOG_HINT, CHANGES_HINT)

    def _empty(self, log_hint: str, changes_hint: str) -> None:
        self.log.clear()
        self.changes.clear()
        self.log.set_hint(log_hint)
        self.changes.set_hint(changes_hint)

    def show_deployment(
        self, row: DeploymentRow, log: list[tuple[datetime, str, str]], carried: Carried
    ) -> None:
        """The deployment `row`: its events, oldest first (times in their messages made local,
        like the tables'), and what each application it carries changes."""
        self.heading.setText(heading(row))
        self.heading.show()
        self._empty(NO_EVENTS, NO_CHANGES)
        for at, level, message in log:
            text = local_times_in(message)
            item = QTreeWidgetItem([at.astimezone().strftime("%Y-%m-%d %H:%M:%S"), level, text])
            item.setToolTip(2, text)
            self.log.addTopLevelItem(item)
        self.log.scrollToBottom()
        for carried_app in carried:
            parent = QTreeWidgetItem(
                [carried_app.application, "", carried_app.start, carried_app.end]
            )
            parent.setIcon(0, icon("application"))
            note = None
            if carried_app.note:
                note = QTreeWidgetItem([carried_app.note])
                note.setToolTip(0, carried_app.note)
                font = note.font(0)
                font.setItalic(True)
                note.setFont(0, font)
                parent.addChild(note)
                parent.setToolTip(2, carried_app.note)
            for change in carried_app.changes:
                parent.addChild(module_change_item(change))
            self.changes.addTopLevelItem(parent)
            if note is not None:  # spans only once in a tree (Qt ignores it before)
                note.setFirstColumnSpanned(True)
            parent.setExpanded(True)
