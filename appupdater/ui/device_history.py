"""Devices → History… (or a double-click on a device): "History of DEVICE", its configuration
revisions newest first and, for the one selected, its configured map, its module-level changes
from the revision before and the deployments that pushed it. **Revert to this revision** plans
the revert off the GUI thread and opens the update wizard on it (`MainWindow.open_plan_wizard`).

Non-modal, one per device, read off the GUI thread; it reads again on Refresh (F5) and whenever
the main window loads a changed fleet, and every few seconds while a deployment that pushed a
revision has not ended. Its size and split are remembered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QItemSelection, QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.config_history import Revision, device_history
from appupdater.core.planning import Plan
from appupdater.core.rollback import plan_revert
from appupdater.core.words import plural
from appupdater.errors import AppUpdaterError
from appupdater.ui.device_history_models import (
    ConfiguredModel,
    DeploymentsModel,
    RevisionsModel,
    changes_model,
    fill_changes,
    reason_text,
)
from appupdater.ui.tables import configure_table
from appupdater.ui.timefmt import local_text

if TYPE_CHECKING:
    from appupdater.ui.main_window import MainWindow

GEOMETRY_KEY = "device-history/geometry"
SPLITTER_KEY = "device-history/splitter"


def open_device_history(window: MainWindow) -> DeviceHistoryDialog | None:
    """Open (or bring forward) the history of the device selected in the main window."""
    chosen = window.selected_device()
    if chosen is None:
        return None
    device_id, name = chosen
    for dialog in window.findChildren(DeviceHistoryDialog):
        if dialog.device_id == device_id and dialog.isVisible():
            dialog.raise_()
            dialog.activateWindow()
            return dialog
    dialog = DeviceHistoryDialog(window, device_id, name)
    dialog.show()
    return dialog


def _box(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for widget in widgets:
        layout.addWidget(widget)
    return box


def _placeholder() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    label.hide()
    return label


class DeviceHistoryDialog(QDialog):
    """One device's configuration revisions and what each changed."""

    POLL_MS = 3000  # how often deployments under way are read again

    def __init__(self, window: MainWindow, device_id: int, name: str) -> None:
        super().__init__(window)
        self.main_window = window
        self.tasks = window.tasks
        self.device_id = device_id
        self.device_name = name
        self.revisions: list[Revision] = []
        self._reading: int | None = None
        self._planning: int | None = None
        self.setWindowTitle(f"History of {name}")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        self.summary = QLabel(f"Reading the history of {name}…")
        self.summary.setWordWrap(True)

        self.revisions_model = RevisionsModel(self)
        self.revisions_view = QTableView()
        self.revisions_view.setAccessibleName("Revisions")
        configure_table(self.revisions_view)
        self.revisions_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.revisions_view.setModel(self.revisions_model)
        header = self.revisions_view.horizontalHeader()
        for column in (0, 1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.revisions_view.selectionModel().selectionChanged.connect(self._selected)

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
        self.no_configured = _placeholder()
        self.changes_model = changes_model(None, self)
        self.changes_view = QTreeView()
        self.changes_view.setAccessibleName("Changes")
        self.changes_view.setUniformRowHeights(True)
        self.changes_view.setAlternatingRowColors(True)
        self.changes_view.setModel(self.changes_model)
        self.no_changes = _placeholder()
        self.deployments_model = DeploymentsModel(self)
        self.deployments_view = QTableView()
        self.deployments_view.setAccessibleName("Deployments")
        configure_table(self.deployments_view)
        self.deployments_view.setModel(self.deployments_model)
        for column, width in enumerate((85, 55, 95, 125)):
            self.deployments_view.setColumnWidth(column, width)
        self.no_deployments = _placeholder()

        self.changes_box = _box("Changes", self.changes_view, self.no_changes)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(_box("Configured", self.configured_view, self.no_configured))
        top.addWidget(self.changes_box)
        top.setStretchFactor(1, 1)
        top.setSizes([220, 560])
        details = QSplitter(Qt.Orientation.Vertical)
        details.addWidget(top)
        details.addWidget(
            _box("Deployments that pushed it", self.deployments_view, self.no_deployments)
        )
        details.setStretchFactor(0, 3)
        details.setStretchFactor(1, 2)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.heading)
        right_layout.addWidget(details, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(_box("Revisions, newest first", self.revisions_view))
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([420, 860])

        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setAccessibleName("No revisions")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.splitter)
        self.pages.addWidget(self.empty)

        self.problem = QLabel()
        self.problem.setStyleSheet("color: #c62828;")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.revert_button = QPushButton("Re&vert to this revision…")
        self.revert_button.setEnabled(False)
        self.revert_button.clicked.connect(self.revert)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setShortcut(QKeySequence.StandardKey.Refresh)
        self.refresh_button.setToolTip("Read the device's history again (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(self.revert_button)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        row.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.problem)
        layout.addLayout(row)
        self.poll = QTimer(self)
        self.poll.setObjectName("device-history-poll")
        self.poll.setInterval(self.POLL_MS)
        self.poll.timeout.connect(self.refresh)
        self._restore_state()
        window.loaded.connect(self.refresh)
        self._following = True
        self.refresh()

    # -- reading -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the history again off the GUI thread; a read under way is not doubled."""
        if self._reading is None:
            device_id = self.device_id
            self._reading = self.tasks.submit(
                lambda: device_history(device_id), self._show, self._read_failed
            )

    def _read_failed(self, error: BaseException) -> None:
        self._reading = None
        self.problem.setText(f"Could not read the history of {self.device_name}: {error}")
        self.problem.show()

    def _show(self, revisions: list[Revision]) -> None:
        self._reading = None
        self.problem.hide()
        kept = self.selected_revision()
        self.revisions = revisions
        self.revisions_model.set_revisions(revisions)
        under_way = any(not d.state.is_final for r in revisions for d in r.deployments)
        if under_way and self.isVisible():
            self.poll.start()
        else:
            self.poll.stop()
        if not revisions:
            self.summary.setText(f"<b>{self.device_name}</b> has no configuration revisions.")
            self.empty.setText(
                f"<p style='font-size: large'><b>No configuration revisions yet</b></p>"
                f"<p>Nothing has configured a version on {self.device_name} so far. An import, "
                "an update run or a rollback that configures one makes its first revision, "
                "and it is listed here.</p>"
            )
            self.pages.setCurrentWidget(self.empty)
            self._show_revision(None)
            return
        self.pages.setCurrentWidget(self.splitter)
        current = revisions[0]
        self.summary.setText(
            f"<b>{self.device_name}</b>: {plural(len(revisions), 'configuration revision')}; "
            f"revision {current.number} ({reason_text(current)}) is the current one."
        )
        numbers = [r.number for r in revisions]
        row = numbers.index(kept.number) if kept is not None and kept.number in numbers else 0
        self.revisions_view.selectRow(row)
        self._show_revision(revisions[row])

    # -- the selected revision -----------------------------------------------------------

    def selected_revision(self) -> Revision | None:
        rows = self.revisions_view.selectionModel().selectedRows()
        if len(rows) != 1 or not 0 <= rows[0].row() < len(self.revisions_model.items):
            return None
        return self.revisions_model.items[rows[0].row()]

    def _selected(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._show_revision(self.selected_revision())

    def _show_revision(self, revision: Revision | None) -> None:
        current = revision is not None and revision is self.revisions[0]
        self.revert_button.setEnabled(
            revision is not None and not current and self._planning is None
        )
        self.revert_button.setToolTip(
            "This is the device's current configuration"
            if current
            else "Plan a run that configures the device as in this revision, and review it in "
            "the update wizard"
        )
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

    # -- revert --------------------------------------------------------------------------

    def revert(self) -> None:
        """Plan the revert to the selected revision off the GUI thread, then open the wizard."""
        revision = self.selected_revision()
        if revision is None or self._planning is not None or revision is self.revisions[0]:
            return
        device_id, number = self.device_id, revision.number
        self.revert_button.setEnabled(False)
        self.summary.setText(f"Planning the revert of {self.device_name} to revision {number}…")
        self._planning = self.tasks.submit(
            lambda: plan_revert(device_id, number),
            lambda plan: self._planned(number, plan),
            lambda error: self._plan_failed(number, error),
        )

    def _planning_done(self) -> None:
        self._planning = None
        self._show(self.revisions)  # the summary and the button, as they were

    def _planned(self, number: int, plan: Plan) -> None:
        self._planning_done()
        if not plan.targets:
            reasons = sorted({s.reason for s in plan.skipped})
            why = (
                ": " + "; ".join(reasons)
                if reasons
                else ": its configured versions are the current ones"
            )
            QMessageBox.information(
                self,
                "Nothing to revert",
                f"Reverting {self.device_name} to revision {number} would change nothing{why}.",
            )
            return
        self.main_window.open_plan_wizard(plan)

    def _plan_failed(self, number: int, error: BaseException) -> None:
        self._planning_done()
        detail = str(error) if isinstance(error, AppUpdaterError) else f"{error!r}"
        QMessageBox.warning(
            self,
            "Cannot revert",
            f"{self.device_name} cannot be reverted to revision {number}: {detail}.",
        )

    # -- window state --------------------------------------------------------------------

    def _restore_state(self) -> None:
        settings = QSettings()
        geometry = settings.value(GEOMETRY_KEY)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1080, 640)
        splitter = settings.value(SPLITTER_KEY)
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def done(self, result: int) -> None:
        """Closing (Close, Escape, the title bar): remember the size, drop pending results."""
        self.poll.stop()
        if self._following:
            self._following = False
            self.main_window.loaded.disconnect(self.refresh)
        settings = QSettings()
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        settings.setValue(SPLITTER_KEY, self.splitter.saveState())
        for token in (self._reading, self._planning):
            if token is not None:
                self.tasks.forget(token)
        self._reading = self._planning = None
        super().done(result)
