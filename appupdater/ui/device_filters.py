"""The row above the main window's devices: search by name or site, the "Drifted" and
"Unhealthy" filters with how many devices each would show, and how many are shown."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from appupdater.core.words import plural
from appupdater.ui.fleet_models import DevicesModel
from appupdater.ui.icons import icon


class DeviceFilters(QWidget):
    """Drives `model`'s search and filters; its counts follow the model."""

    def __init__(self, model: DevicesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search devices by name or site")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search devices")
        search_label = QLabel("&Search:")
        search_label.setBuddy(self.search)
        self.drifted = self._filter(
            "drift", "Show only devices that ran their configuration and now run something else"
        )
        self.unhealthy = self._filter(
            "health-unhealthy", "Show only devices with a module whose health check failed"
        )
        self.count = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(search_label)
        layout.addWidget(self.search, 1)
        layout.addWidget(self.drifted)
        layout.addWidget(self.unhealthy)
        layout.addWidget(self.count)
        self.search.textChanged.connect(model.set_search)
        self.drifted.toggled.connect(self._filters_changed)
        self.unhealthy.toggled.connect(self._filters_changed)
        model.modelReset.connect(self._show_counts)
        self._show_counts()

    def _filter(self, icon_name: str, tooltip: str) -> QToolButton:
        button = QToolButton()
        button.setCheckable(True)
        button.setIcon(icon(icon_name))
        button.setToolButtonStyle(button.toolButtonStyle().ToolButtonTextBesideIcon)
        button.setAutoRaise(True)
        button.setToolTip(tooltip)
        return button

    def _filters_changed(self) -> None:
        self.model.set_filters(
            drifted=self.drifted.isChecked(), unhealthy=self.unhealthy.isChecked()
        )

    def _show_counts(self) -> None:
        model = self.model
        self.drifted.setText(f"D&rifted ({model.drifted})")
        self.drifted.setAccessibleName(f"Drifted: {plural(model.drifted, 'device')}")
        self.unhealthy.setText(f"Un&healthy ({model.unhealthy})")
        self.unhealthy.setAccessibleName(f"Unhealthy: {plural(model.unhealthy, 'device')}")
        shown, total = len(model.rows), len(model.devices)
        self.count.setText(
            f"{shown} of {plural(total, 'device')}" if shown != total else plural(total, "device")
        )
