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
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
)

from appupdater.core.config_history import Revision, device_history
from appupdater.core.planning import Plan
from appupdater.core.rollback import plan_revert
from appupdater.core.words import plural
from appupdater.errors import AppUpdaterError
from appupdater.ui.device_history_details import RevisionDetails, box
from appupdater.ui.device_history_models import RevisionsModel, reason_text
from appupdater.ui.tables import configure_table

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

        self.details = RevisionDetails()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(box("Revisions, newest first", self.revisions_view))
        self.splitter.addWidget(self.details)
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
        self.details.show_revision(revision, current)

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
