"""Page 3 — Finalize: every pending change, device → application → module, then Approve Update."""

from __future__ import annotations

import getpass
from collections import Counter
from typing import overload

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from appupdater.core.planning import ChangeOp, ModuleChange, Plan, PlanTarget
from appupdater.core.runs import Applied, apply_configuration, create_run
from appupdater.ui.icons import icon
from appupdater.ui.tables import ModelIndex
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.timefmt import local_text
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wording import ACTION_ICON, ACTION_TEXT, OP_COLOUR, OP_ICON, OP_TEXT

TOP = 0  # internal id of device rows
SHIFT = 10  # low bits of an internal id: a target's index within its device, plus one

DeviceItem = tuple[int, list[PlanTarget]]  # a device id and its targets


class FinalizeModel(QAbstractItemModel):
    """A lazy three-level tree over the plan: nothing is built per row, so 100,000 devices
    cost only the list of selected devices. Internal ids encode the parent:
    0 for devices, (device+1) << SHIFT for applications, that plus (target+1) for modules."""

    HEADERS = ("Device / application / module", "Operation", "From", "To", "Deployment")

    def __init__(self, state: WizardState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.devices: list[DeviceItem] = []
        self.shown = 0  # devices handed to the view so far (see fetchMore)
        self.plan = Plan([], [], [])  # the state's, once reloaded
        self._bold = QFont()
        self._bold.setBold(True)

    def reload(self) -> None:
        self.beginResetModel()
        self.plan = self.state.plan or Plan([], [], [])
        self.devices = self.state.selected_devices()
        self.shown = min(len(self.devices), self.BATCH)
        self.endResetModel()

    # A tree view lays out every top-level row it knows of, calling back into Python for each:
    # 100,000 devices took seconds. Devices are handed out in batches as the view scrolls.
    BATCH = 500

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.shown < len(self.devices)

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        more = min(len(self.devices) - self.shown, self.BATCH * 4)
        if more > 0:
            self.beginInsertRows(QModelIndex(), self.shown, self.shown + more - 1)
            self.shown += more
            self.endInsertRows()

    # -- structure -----------------------------------------------------------------------

    def index(
        self,
        row: int,
        column: int,
        parent: ModelIndex = QModelIndex(),  # noqa: B008
    ) -> QModelIndex:
        # QTreeView asks for every top-level index when it lays out: keep this path short
        if not parent.isValid():
            if 0 <= row < self.shown and 0 <= column < len(self.HEADERS):
                return self.createIndex(row, column, TOP)
            return QModelIndex()
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        pid = parent.internalId()
        if pid == TOP:
            return self.createIndex(row, column, (parent.row() + 1) << SHIFT)
        return self.createIndex(row, column, pid | (parent.row() + 1))

    # QAbstractItemModel.parent is also QObject.parent(): both forms, as the stubs declare them
    @overload
    def parent(self) -> QObject | None: ...
    @overload
    def parent(self, index: ModelIndex) -> QModelIndex: ...
    def parent(self, index: ModelIndex | None = None) -> QObject | QModelIndex | None:
        if index is None:
            return super().parent()
        if not index.isValid():
            return QModelIndex()
        iid = index.internalId()
        if iid == TOP:
            return QModelIndex()
        device_row = (iid >> SHIFT) - 1
        target_row = (iid & ((1 << SHIFT) - 1)) - 1
        if target_row < 0:
            return self.createIndex(device_row, 0, TOP)
        return self.createIndex(target_row, 0, (device_row + 1) << SHIFT)

    def hasChildren(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        # asked for every device on layout: answered without counting
        if not parent.isValid():
            return bool(self.devices)
        if parent.internalId() == TOP:
            return parent.column() == 0  # a device always has at least one application
        return self.rowCount(parent) > 0

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return self.shown
        if parent.column() != 0:
            return 0
        pid = parent.internalId()
        if pid == TOP:
            return len(self.devices[parent.row()][1])
        if pid & ((1 << SHIFT) - 1):
            return 0
        target = self.devices[(pid >> SHIFT) - 1][1][parent.row()]
        return len(self.plan.changes(target))

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    # -- content -------------------------------------------------------------------------

    def _item(self, index: ModelIndex) -> DeviceItem | PlanTarget | ModuleChange:
        iid = index.internalId()
        if iid == TOP:
            return self.devices[index.row()]
        device_row = (iid >> SHIFT) - 1
        target_row = (iid & ((1 << SHIFT) - 1)) - 1
        targets = self.devices[device_row][1]
        if target_row < 0:
            return targets[index.row()]
        return self.plan.changes(targets[target_row])[index.row()]

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        item = self._item(index)
        column = index.column()
        if isinstance(item, tuple):
            return self._device_data(item, column, role)
        if isinstance(item, PlanTarget):
            return self._target_data(item, column, role)
        return self._change_data(item, column, role)

    def _device_data(self, item: DeviceItem, column: int, role: int) -> object:
        device_id, targets = item
        action = self.state.action(device_id)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                site = targets[0].device.site
                return f"{targets[0].device.name} ({site})" if site else targets[0].device.name
            if column == 4:
                text = ACTION_TEXT[action.action]
                return f"{text}: {local_text(action.at)}" if action.at else text
        if role == Qt.ItemDataRole.DecorationRole:
            if column == 0:
                return icon("device")
            if column == 4:
                return icon(ACTION_ICON[action.action])
        if role == Qt.ItemDataRole.FontRole and column == 0:
            return self._bold
        return None

    def _target_data(self, t: PlanTarget, column: int, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return t.app.name
            if column == 2:
                return t.from_version.text
            if column == 3:
                return t.to_version.text
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return icon("application")
        return None

    def _change_data(self, c: ModuleChange, column: int, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole:
            return (c.module, OP_TEXT[c.op], c.from_version or "—", c.to_version or "—", None)[
                column
            ]
        if role == Qt.ItemDataRole.DecorationRole and column == 1:
            return icon(OP_ICON[c.op])
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return QBrush(OP_COLOUR[c.op])
        return None


class FinalizePage(QWizardPage):
    """The review of every pending change, the totals, and the approval."""

    approved = Signal(int, object)  # run id, Applied

    def __init__(
        self, state: WizardState, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.tasks = tasks
        self.run_id: int | None = None
        self._recording = False
        self.setTitle("Finalize")
        self.setSubTitle(
            "All pending updates, per device. Review the module changes, then click Approve Update."
        )
        self.setFinalPage(True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Approve Update")

        self.note_icon = QLabel()
        self.note_icon.setPixmap(icon("info").pixmap(20, 20))
        self.note = QLabel(
            "Some devices skip one or more versions. Skipping several versions can add or "
            "remove modules: review the Added and Removed modules below."
        )
        self.note.setWordWrap(True)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note_icon, 0, Qt.AlignmentFlag.AlignTop)
        note_row.addWidget(self.note, 1)
        self.totals = QLabel()
        self.totals.setAccessibleName("Totals")
        self.totals.setWordWrap(True)
        self.totals.setTextFormat(Qt.TextFormat.RichText)

        self.model = FinalizeModel(state, self)
        self.view = QTreeView()
        self.view.setAccessibleName("Pending updates")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        header = self.view.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((300, 110, 110, 110)):
            self.view.setColumnWidth(column, width)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(note_row)
        layout.addWidget(self.totals)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)

    def initializePage(self) -> None:
        self.model.reload()
        counts = self.counts()
        self.totals.setText(
            f"<b>{counts['devices']}</b> device(s): <b>{counts['now']}</b> deploy now, "
            f"<b>{counts['at']}</b> scheduled, <b>{counts['none']}</b> configuration only. "
            f"Modules: <span style='color:{OP_COLOUR[ChangeOp.ADDED].name()}'>"
            f"<b>{counts['added']}</b> added</span>, "
            f"<span style='color:{OP_COLOUR[ChangeOp.REMOVED].name()}'>"
            f"<b>{counts['removed']}</b> removed</span>, "
            f"<span style='color:{OP_COLOUR[ChangeOp.MODIFIED].name()}'>"
            f"<b>{counts['modified']}</b> modified</span>."
        )
        skips = self.skips_versions()
        self.note.setVisible(skips)
        self.note_icon.setVisible(skips)
        # show the module changes at once; for big runs only those of the first devices
        if len(self.model.devices) <= 100:
            self.view.expandToDepth(1)
        else:
            for row in range(10):
                device = self.model.index(row, 0)
                self.view.expand(device)
                for child in range(self.model.rowCount(device)):
                    self.view.expand(self.model.index(child, 0, device))

    def counts(self) -> Counter[str]:
        """Devices per action, and module operations over all selected targets."""
        counts = Counter(devices=len(self.model.devices), added=0, removed=0, modified=0)
        counts.update(self.state.action_counts())
        diffs = self.model.plan.diffs
        for key, uses in self.state.diff_uses().items():
            for change in diffs[key]:
                counts[change.op.value] += uses
        return counts

    def skips_versions(self) -> bool:
        """True when some selected target jumps over a version and gains or loses modules."""
        seen = set()
        for _, targets in self.model.devices:
            for t in targets:
                if t.diff_key in seen:
                    continue
                seen.add(t.diff_key)
                between = [
                    v
                    for v in t.app.versions
                    if t.from_version.parsed < v.parsed < t.to_version.parsed
                ]
                ops = {c.op for c in self.model.plan.diffs[t.diff_key]}
                if between and ops & {ChangeOp.ADDED, ChangeOp.REMOVED}:
                    return True
        return False

    @property
    def recording(self) -> bool:
        """True while the approved run is being written."""
        return self._recording

    def validatePage(self) -> bool:
        if self.run_id is not None:
            return True
        plan = self.state.plan
        if self._recording or plan is None:
            return False
        counts = self.counts()
        answer = QMessageBox.question(
            self,
            "Approve Update",
            f"The configuration of {counts['devices']} device(s) will be updated.\n"
            f"{counts['now']} deployment(s) will start now and {counts['at']} at their "
            f"scheduled time; {counts['none']} device(s) get the configuration only.\n\n"
            "Start the update?",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Ok:
            return False
        self._record(plan)
        return False

    def _record(self, plan: Plan) -> None:
        """Record the run and apply its configuration off the GUI thread; close when done."""
        actions = self.state.chosen_actions()
        devices = set(self.state.selected)
        user = getpass.getuser()

        def work() -> tuple[int, Applied]:
            run_id = create_run(plan, actions, approved_by=user, devices=devices)
            return run_id, apply_configuration(run_id)

        self._recording = True
        self._set_buttons_enabled(False)
        self.busy.show()
        self.message.setText("Recording the update and updating device configurations…")
        self.message.show()
        self.tasks.submit(work, self._recorded, self._record_failed)

    def _recorded(self, result: tuple[int, Applied]) -> None:
        self._recording = False
        self.run_id, applied = result
        self.busy.hide()
        self.approved.emit(self.run_id, applied)
        self.wizard().accept()

    def _record_failed(self, error: BaseException) -> None:
        self._recording = False
        self.busy.hide()
        self._set_buttons_enabled(True)
        self.message.setText(f"The update was not recorded: {error}")
        QMessageBox.warning(self, "Approve Update", f"The update was not recorded.\n\n{error}")

    def _set_buttons_enabled(self, enabled: bool) -> None:
        wizard = self.wizard()
        for button in (
            QWizard.WizardButton.BackButton,
            QWizard.WizardButton.FinishButton,
            QWizard.WizardButton.CancelButton,
        ):
            wizard.button(button).setEnabled(enabled)
