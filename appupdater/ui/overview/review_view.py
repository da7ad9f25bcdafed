"""What a run awaiting a decision does, as a tree the approver reads before deciding: device →
application → module, as the wizard's Finalize showed it to the requester, with what each
deployment also pushes (core/run_review.py). A run can have 100,000 devices: the tree holds
at most `SHOWN` of them, and a search finds the others."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.run_review import AppChange, DeviceReview, RunReview
from appupdater.core.words import plural
from appupdater.store.models import DeployAction
from appupdater.ui.change_items import module_change_item
from appupdater.ui.icons import icon
from appupdater.ui.timefmt import local_text
from appupdater.ui.wording import ACTION_ICON, ACTION_TEXT

SHOWN = 300  # devices in the tree at once
OPEN = 20  # devices shown opened


# short, for a dialog's width; the tooltip has the seed's wording
_SHORT = {
    DeployAction.NOW: "Deploy now",
    DeployAction.AT: "Deploy at",
    DeployAction.NONE: "Configuration only, not deployed",
}
ALONG_SHORT = "also pushed (configured earlier)"
SKIPPED_SHORT = "Left as it is"


def deployment_text(device: DeviceReview) -> str:
    text = _SHORT[device.action]
    if device.action is DeployAction.AT and device.at is not None:
        text += f" {local_text(device.at)}"
    if device.wave is not None:
        text += f", wave {device.wave}" + (" (canary)" if device.wave == 1 else "")
    return text


class ReviewView(QWidget):
    """The summary, a search and the tree of one run's review."""

    def __init__(self, review: RunReview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.review = review
        self.summary = QLabel(f"<b>What approving does:</b> {review.summary()}.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAccessibleName("What the run does")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search devices or sites")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search devices")
        self.search.textChanged.connect(self._fill)
        self.shown = QLabel()
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Changes per device")
        self.tree.setHeaderLabels(
            ["Device / application / module", "Operation", "From", "To", "Deployment"]
        )
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((250, 100, 80, 80)):
            self.tree.setColumnWidth(column, width)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.shown)
        self._fill()

    def _fill(self) -> None:
        needle = self.search.text().strip().casefold()
        devices = self.review.devices
        if needle:
            devices = [
                d for d in devices if needle in d.name.casefold() or needle in d.site.casefold()
            ]
        self.tree.clear()
        for i, device in enumerate(devices[:SHOWN]):
            item = self._device_item(device)
            self.tree.addTopLevelItem(item)
            if device.skipped:  # Qt takes a span only once the row is in the tree
                reason = item.child(0)
                if reason is not None:
                    reason.setFirstColumnSpanned(True)
            item.setExpanded(i < OPEN)
            for row in range(item.childCount()):
                child = item.child(row)
                if child is not None:
                    child.setExpanded(i < OPEN)
        total = len(self.review.devices)
        if not devices:
            self.shown.setText("No device matches the search." if needle else "No device.")
        elif len(devices) > SHOWN:
            self.shown.setText(
                f"Showing {SHOWN:,} of {plural(len(devices), 'device')}: search to find others."
            )
        elif len(devices) != total:
            self.shown.setText(f"{len(devices):,} of {plural(total, 'device')}")
        else:
            self.shown.setText(plural(total, "device"))

    def _device_item(self, device: DeviceReview) -> QTreeWidgetItem:
        name = f"{device.name} ({device.site})" if device.site else device.name
        if device.skipped:
            item = QTreeWidgetItem([name, "", "", "", SKIPPED_SHORT])
            item.setIcon(4, icon("warning"))
            item.setToolTip(4, device.skipped)
            reason = QTreeWidgetItem(
                [f"Changed since the request: {device.skipped}; approving leaves it as it is."]
            )
            reason.setIcon(0, icon("info"))
            item.addChild(reason)
        else:
            item = QTreeWidgetItem([name, "", "", "", deployment_text(device)])
            item.setIcon(4, icon(ACTION_ICON[device.action]))
            item.setToolTip(4, ACTION_TEXT[device.action])
        item.setIcon(0, icon("device"))
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        for app in device.apps:
            item.addChild(self._app_item(app))
        return item

    @staticmethod
    def _app_item(app: AppChange) -> QTreeWidgetItem:
        item = QTreeWidgetItem(
            [app.application, "", app.start, app.end, ALONG_SHORT if app.note else ""]
        )
        item.setIcon(0, icon("application"))
        if app.note:
            for column in (0, 4):
                font = item.font(column)
                font.setItalic(True)
                item.setFont(column, font)
                item.setToolTip(column, app.note)
        for change in app.changes:
            item.addChild(module_change_item(change))
        return item
