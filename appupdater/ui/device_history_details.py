"""The history dialog's right-hand side: the selected revision's configured map, its
module-level changes from the revision before, and the deployments that pushed it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.config_history import Revision
from appupdater.ui.device_history_models import (
    ConfiguredModel,
    DeploymentsModel,
    changes_model,
    fill_changes,
    reason_text,
)
from appupdater.ui.tables import configure_table
from appupdater.ui.timefmt import local_text


def box(title: str, *widgets: QWidget) -> QGroupBox:
    """A titled group of `widgets`, one above the other."""
    group = QGroupBox(title)
    layout = QVBoxLayout(group)
    for widget in widgets:
        layout.addWidget(widget)
    return group


def placeholder() -> QLabel:
    """A hidden, greyed note that stands in for an empty view."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    label.hide()
    return label


class RevisionDetails(QWidget):
    """What one revision configures, what it changed, and what deployed it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.configured_model = ConfiguredModel(self)
        self.configured_view = QTableView()
        self.configured_view.setAccessibleName("Configured versions")
        configure_table(self.configured_view)
        self.configured_view.setModel(self.configured_model)
        configured_header = self.configured_view.horizontalHeader()
        configured_header.setStretchLastSection(False)
        configured_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        configured_header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.no_configured = placeholder()
        self.changes_model = changes_model(None, self)
        self.changes_view = QTreeView()
        self.changes_view.setAccessibleName("Changes")
        self.changes_view.setUniformRowHeights(True)
        self.changes_view.setAlternatingRowColors(True)
        self.changes_view.setModel(self.changes_model)
        self.no_changes = placeholder()
        self.deployments_model = DeploymentsModel(self)
        self.deployments_view = QTableView()
        self.deployments_view.setAccessibleName("Deployments")
        configure_table(self.deployments_view)
        self.deployments_view.setModel(self.deployments_model)
        for column, width in enumerate((85, 55, 95, 125)):
            self.deployments_view.setColumnWidth(column, width)
        self.no_deployments = placeholder()

        self.changes_box = box("Changes", self.changes_view, self.no_changes)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(box("Configured", self.configured_view, self.no_configured))
        top.addWidget(self.changes_box)
        top.setStretchFactor(1, 1)
        top.setSizes([220, 560])
        details = QSplitter(Qt.Orientation.Vertical)
        details.addWidget(top)
        details.addWidget(
            box("Deployments that pushed it", self.deployments_view, self.no_deployments)
        )
        details.setStretchFactor(0, 3)
        details.setStretchFactor(1, 2)
        right_layout = QVBoxLayout(self)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.heading)
        right_layout.addWidget(details, 1)

    def show_revision(self, revision: Revision | None, current: bool) -> None:
        """Show `revision` (the current one when `current`); None shows nothing."""
        if revision is None:
            self.heading.clear()
            self.configured_model.set_configured({})
            fill_changes(self.changes_model, None)
            self.deployments_model.set_deployments(())
            return
        state = " — the current configuration" if current else ""
        self.heading.setText(
            f"<b>Revision {revision.number}</b>{state}: {reason_text(revision)}, "
            f"{local_text(revision.at)} by {revision.by}"
        )
        self.configured_model.set_configured(revision.configured)
        self.configured_view.setVisible(bool(revision.configured))
        self.no_configured.setVisible(not revision.configured)
        self.no_configured.setText("No application has a configured version in this revision.")
        self._show_changes(revision)
        self._show_deployments(revision)

    def _show_changes(self, revision: Revision) -> None:
        fill_changes(self.changes_model, revision)
        self.changes_view.expandAll()
        header = self.changes_view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        if revision.replaced is None:
            self.changes_box.setTitle("Changes: everything its first revision configures")
        else:
            self.changes_box.setTitle(f"Changes from revision {revision.replaced}")
        nothing = not revision.changes
        self.changes_view.setVisible(not nothing)
        self.no_changes.setVisible(nothing)
        if nothing and revision.replaced is None:
            self.no_changes.setText("This first revision configures no application.")
        elif nothing:
            self.no_changes.setText(
                "No configured version changed: the device's configuration is the same as "
                f"in revision {revision.replaced}."
            )

    def _show_deployments(self, revision: Revision) -> None:
        self.deployments_model.set_deployments(revision.deployments)
        nothing = not revision.deployments
        self.deployments_view.setVisible(not nothing)
        self.no_deployments.setVisible(nothing)
        if revision.run_id is None:
            self.no_deployments.setText(
                f"No deployment: this revision was made by {revision.reason}, not by a run."
            )
        elif nothing:
            self.no_deployments.setText(
                f"Run #{revision.run_id} configured the device without deploying to it."
            )
