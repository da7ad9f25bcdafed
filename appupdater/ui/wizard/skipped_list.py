"""The devices a precomputed plan (a rollback, a revert) leaves out, with their reasons: a line
"3 devices skipped" that opens a list of them."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from appupdater.core.planning import SkippedTarget
from appupdater.core.words import plural
from appupdater.ui.tables import configure_table
from appupdater.ui.wizard.checklist_models import SkippedModel

ROWS = 5  # shown at most without scrolling


class SkippedList(QWidget):
    """Hidden when nothing is skipped; the list opens and closes with a button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setAccessibleName("Skipped devices")
        self.toggle = QPushButton("Show &skipped")
        self.toggle.setCheckable(True)
        self.toggle.setAutoDefault(False)
        self.model = SkippedModel(self)
        self.view = QTableView()
        self.view.setAccessibleName("Skipped devices and why")
        configure_table(self.view)
        self.view.setTabKeyNavigation(False)
        self.view.setModel(self.model)
        for column, width in enumerate((150, 110, 120, 85, 85)):
            self.view.setColumnWidth(column, width)
        self.view.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.toggle)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.view)
        self.toggle.toggled.connect(self._toggled)
        self.hide()

    def set_items(self, items: list[SkippedTarget]) -> None:
        self.model.set_items(items)
        devices = len({s.device.id for s in items})
        self.label.setText(f"{plural(devices, 'device')} skipped")
        self.label.setToolTip(
            "\n".join(f"{s.device.name}: {s.app.name} {s.reason}" for s in items[:20])
        )
        view = self.view
        view.setFixedHeight(
            view.horizontalHeader().sizeHint().height()
            + min(len(items), ROWS) * view.verticalHeader().defaultSectionSize()
            + 2 * view.frameWidth()
        )
        self.setVisible(bool(items))

    def _toggled(self, shown: bool) -> None:
        self.view.setVisible(shown)
        self.toggle.setText("Hide &skipped" if shown else "Show &skipped")
