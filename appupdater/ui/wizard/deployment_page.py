"""Page 2 — Deployment: per selected device, deploy now, at a time, or not at all."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QAbstractItemModel, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QHideEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionComboBox,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from appupdater.core.catalog import VersionInfo
from appupdater.core.planning import PlanTarget
from appupdater.core.runs import DeviceAction
from appupdater.store.fields import utcnow
from appupdater.store.models import DeployAction
from appupdater.ui.icons import icon
from appupdater.ui.tables import ListTableModel, ModelIndex, configure_table
from appupdater.ui.timefmt import (
    from_qdatetime,
    local_text,
    next_full_hour,
    to_qdatetime,
    zone_text,
)
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wording import ACTION_ICON, ACTION_TEXT

ACTIONS = list(ACTION_TEXT)
ACTION_COLUMN, TIME_COLUMN = 3, 4
PAST_COLOUR = QColor("#c62828")


def updates_text(targets: list[PlanTarget]) -> str:
    """A device's updates on one line: "line-monitor 1.0.0 → 2.0.0; ..."."""
    return "; ".join(f"{t.app.name} {t.from_version.text} → {t.to_version.text}" for t in targets)


class DeploymentModel(ListTableModel[tuple[int, list[PlanTarget]]]):
    """One row per selected device: its updates, its action and time (kept in the state)."""

    HEADERS = ("Device", "Site", "Updates", "Deployment", "Time")

    def __init__(self, state: WizardState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.now = utcnow()

    @property
    def devices(self) -> list[tuple[int, list[PlanTarget]]]:
        """(device id, its targets) per row."""
        return self.items

    def reload(self) -> None:
        self.beginResetModel()
        self.items = self.state.selected_devices()
        self.endResetModel()

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == ACTION_COLUMN:
            flags |= Qt.ItemFlag.ItemIsEditable
        if index.column() == TIME_COLUMN:
            if self._action(index.row()).action is DeployAction.AT:
                flags |= Qt.ItemFlag.ItemIsEditable
            else:
                flags &= ~Qt.ItemFlag.ItemIsEnabled
        return flags

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.devices):
            return None
        device_id, targets = self.devices[index.row()]
        action = self.state.action(device_id)
        column = index.column()
        past = action.at is not None and action.at <= self.now
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if column == 0:
                return targets[0].device.name
            if column == 1:
                return targets[0].device.site
            if column == 2:
                return updates_text(targets)
            if column == ACTION_COLUMN:
                return ACTION_TEXT[action.action]
            return local_text(action.at) if action.at else "—"
        if role == Qt.ItemDataRole.EditRole:
            if column == ACTION_COLUMN:
                return action.action.value
            if column == TIME_COLUMN:
                return action.at or next_full_hour()
        if role == Qt.ItemDataRole.DecorationRole:
            if column == ACTION_COLUMN:
                return icon(ACTION_ICON[action.action])
            if column == TIME_COLUMN and past:
                return icon("warning")
        if role == Qt.ItemDataRole.ForegroundRole and column == TIME_COLUMN and past:
            return QBrush(PAST_COLOUR)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == TIME_COLUMN and past:
                return "This time is in the past: choose a later one."
            if column == 2:
                return updates_text(targets).replace("; ", "\n")
        return None

    def setData(
        self, index: ModelIndex, value: object, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        device_id = self.devices[index.row()][0]
        current = self.state.action(device_id)
        # the editors give an action's value (text) and an aware datetime; anything else is refused
        if index.column() == ACTION_COLUMN and isinstance(value, str):
            chosen = DeployAction(value)
            at = (current.at or next_full_hour()) if chosen is DeployAction.AT else None
            new = DeviceAction(chosen, at)
        elif (
            index.column() == TIME_COLUMN
            and current.action is DeployAction.AT
            and isinstance(value, datetime)
        ):
            new = DeviceAction(DeployAction.AT, value)
        else:
            return False
        self.state.actions[device_id] = new
        self.dataChanged.emit(
            self.index(index.row(), ACTION_COLUMN), self.index(index.row(), TIME_COLUMN)
        )
        return True

    def set_rows(self, rows: list[int], action: DeviceAction) -> None:
        """Give the devices on `rows` the same action (and time)."""
        for row in rows:
            self.state.actions[self.devices[row][0]] = action
        if rows:
            self.dataChanged.emit(
                self.index(min(rows), ACTION_COLUMN), self.index(max(rows), TIME_COLUMN)
            )

    def past(self) -> list[tuple[str, datetime]]:
        """Devices whose chosen time is not in the future, with that time, by name."""
        self.now = utcnow()
        late = self.state.late_times(self.now)
        plan = self.state.plan
        if not late or plan is None:
            return []
        names = {t.device.id: t.device.name for t in plan.targets}
        return sorted((names[device_id], at) for device_id, at in late)

    def _action(self, row: int) -> DeviceAction:
        return self.state.action(self.devices[row][0])


class ActionDelegate(QStyledItemDelegate):
    """Shows the action as a combo box (painted, so 100,000 rows cost no widgets) and edits it
    with a real one, whose list opens at once."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        if index.column() != ACTION_COLUMN:
            return super().paint(painter, option, index)
        self.initStyleOption(option, index)
        widget = option.widget
        style = widget.style() if widget else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        combo = QStyleOptionComboBox()
        combo.rect = option.rect.adjusted(3, 2, -3, -2)
        combo.state = option.state | QStyle.StateFlag.State_Enabled
        combo.state &= ~QStyle.StateFlag.State_Selected
        combo.palette = option.palette
        combo.currentText = index.data()
        combo.currentIcon = index.data(Qt.ItemDataRole.DecorationRole)
        combo.iconSize = QSize(16, 16)
        combo.frame = True
        style.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, combo, painter, widget)
        style.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, combo, painter, widget)
        return None

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        if index.column() == ACTION_COLUMN:
            size.setWidth(size.width() + 40)
        return size

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: ModelIndex
    ) -> QWidget:
        if index.column() == ACTION_COLUMN:
            combo = QComboBox(parent)
            combo.setAccessibleName("Deployment action")
            for action in ACTIONS:
                combo.addItem(icon(ACTION_ICON[action]), ACTION_TEXT[action], action.value)
            combo.activated.connect(lambda _=None, e=combo: self._commit(e))
            return combo
        if index.column() == TIME_COLUMN:
            time_edit = QDateTimeEdit(parent)
            time_edit.setAccessibleName("Deployment time")
            time_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            time_edit.setCalendarPopup(True)
            return time_edit
        return super().createEditor(parent, option, index)

    def setEditorData(self, editor: QWidget, index: ModelIndex) -> None:
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(editor.findData(index.data(Qt.ItemDataRole.EditRole)))
        elif isinstance(editor, QDateTimeEdit):
            editor.setDateTime(to_qdatetime(index.data(Qt.ItemDataRole.EditRole)))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: ModelIndex) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)
        elif isinstance(editor, QDateTimeEdit):
            model.setData(index, from_qdatetime(editor.dateTime()), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)

    def _commit(self, editor: QComboBox) -> None:
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QStyledItemDelegate.EndEditHint.NoHint)


class DeploymentPage(QWizardPage):
    """The summary of what will be updated, and each device's deployment action."""

    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Deployment")
        self.setSubTitle(
            "Decide for each device whether the update is deployed now, at a specified time, "
            "or not at all (then only its configuration is updated)."
        )
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)

        self.bulk_action = QComboBox()
        self.bulk_action.setAccessibleName("Action for the selected rows")
        for action in ACTIONS:
            self.bulk_action.addItem(icon(ACTION_ICON[action]), ACTION_TEXT[action], action.value)
        self.bulk_action.setCurrentIndex(ACTIONS.index(DeployAction.NOW))
        self.bulk_time = QDateTimeEdit()
        self.bulk_time.setAccessibleName("Time for the selected rows")
        self.bulk_time.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.bulk_time.setCalendarPopup(True)
        self.bulk_time.setDateTime(to_qdatetime(next_full_hour()))
        self.bulk_time.setEnabled(False)
        self.apply_button = QPushButton("A&pply to selected rows")
        self.apply_button.setEnabled(False)
        set_label = QLabel("&Set for the selected rows:")
        set_label.setBuddy(self.bulk_action)
        self.zone = QLabel(f"Times are in {zone_text()}")
        self.zone.setAccessibleName("Time zone")

        self.model = DeploymentModel(state, self)
        self.view = QTableView()
        self.view.setAccessibleName("Deployment per device")
        configure_table(self.view)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 16)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.CurrentChanged
            | QAbstractItemView.EditTrigger.SelectedClicked
            | QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.delegate = ActionDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.model)
        for column, width in enumerate((150, 125, 380, 290)):
            self.view.setColumnWidth(column, width)

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {PAST_COLOUR.name()}; font-weight: bold;")
        self.error.setAccessibleName("Deployment time errors")
        self.error.hide()

        bulk = QHBoxLayout()
        bulk.addWidget(set_label)
        bulk.addWidget(self.bulk_action)
        bulk.addWidget(self.bulk_time)
        bulk.addWidget(self.apply_button)
        bulk.addStretch(1)
        bulk.addWidget(self.zone)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(bulk)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.error)

        self.clock = QTimer(self)
        self.clock.setObjectName("deployment-time-check")
        self.clock.setInterval(15_000)
        self.clock.timeout.connect(self.validate)
        self.bulk_action.currentIndexChanged.connect(self._bulk_action_changed)
        self.apply_button.clicked.connect(self._apply_to_selected)
        self.model.dataChanged.connect(self.validate)
        self.model.modelReset.connect(self._selection_changed)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)

    def initializePage(self) -> None:
        self.model.reload()
        self.summary.setText(self._summary_html())
        self.validate()
        self.clock.start()

    def cleanupPage(self) -> None:
        self.clock.stop()

    def hideEvent(self, event: QHideEvent) -> None:
        self.clock.stop()
        super().hideEvent(event)

    def isComplete(self) -> bool:
        return bool(self.model.devices) and not self.model.past()

    def validatePage(self) -> bool:
        self.validate()
        return self.isComplete()

    def validate(self) -> None:
        late = self.model.past()
        if late:
            shown = ", ".join(f"{name} ({local_text(at)})" for name, at in late[:3])
            more = f" and {len(late) - 3} more" if len(late) > 3 else ""
            self.error.setText(
                f"The deployment time is in the past for {shown}{more}. Choose a later time."
            )
        self.error.setVisible(bool(late))
        self.completeChanged.emit()

    def _summary_html(self) -> str:
        plan = self.state.plan
        devices = self.model.devices
        versions = {v.id: v for app, _ in plan.selections for v in app.versions} if plan else {}
        per_app: dict[int, tuple[list[VersionInfo], int]] = {}
        for (from_id, to_id), uses in self.state.diff_uses().items():
            froms, count = per_app.get(to_id, ([], 0))
            froms.append(versions[from_id])
            per_app[to_id] = (froms, count + uses)
        lines = []
        for app, to in plan.selections if plan else []:
            if to.id in per_app:
                froms, count = per_app[to.id]
                shown = ", ".join(v.text for v in sorted(froms, key=lambda v: v.parsed.key))
                lines.append(f"<b>{app.name}</b> {shown} → <b>{to.text}</b> on {count} device(s)")
        return (
            f"Updating {len(devices)} device(s): " + "; ".join(lines) + "."
            if lines
            else "No device selected."
        )

    def _bulk_action_changed(self) -> None:
        self.bulk_time.setEnabled(self.bulk_action.currentData() == DeployAction.AT.value)

    def _selection_changed(self) -> None:
        selection = self.view.selectionModel()
        self.apply_button.setEnabled(selection is not None and selection.hasSelection())

    def _apply_to_selected(self) -> None:
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        chosen = DeployAction(self.bulk_action.currentData())
        at = from_qdatetime(self.bulk_time.dateTime()) if chosen is DeployAction.AT else None
        self.model.set_rows(rows, DeviceAction(chosen, at))
