"""The Deployment page's item model: one row per selected device with its updates, its action
and time (kept in the wizard state) and its pending deployment of an earlier run. Filters and
sorts in Python over row numbers (no proxy: 100k rows through a proxy's Python `data()` take
seconds)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from appupdater.core.planning import PlanTarget
from appupdater.core.runs import DeviceAction
from appupdater.store.models import DeployAction
from appupdater.ui.icons import icon
from appupdater.ui.tables import ListTableModel, ModelIndex
from appupdater.ui.timefmt import local_text, next_full_hour
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wizard.words import pending_effect, pending_effect_tip
from appupdater.ui.wording import ACTION_ICON, ACTION_TEXT

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

ACTIONS = list(ACTION_TEXT)
ACTION_COLUMN, TIME_COLUMN, WAVE_COLUMN, PENDING_COLUMN = 3, 4, 5, 6
PAST_COLOUR = QColor("#c62828")
DeviceRow = tuple[int, list[PlanTarget]]  # a device id and its targets


def updates_text(targets: list[PlanTarget]) -> str:
    """A device's updates on one line: "line-monitor 1.0.0 → 2.0.0; ..."."""
    return "; ".join(f"{t.app.name} {t.from_version.text} → {t.to_version.text}" for t in targets)


def wave_text(wave: int) -> str:
    """A wave as the Wave column and its lists show it: "1 (canary)", "2", …"""
    return "1 (canary)" if wave == 1 else str(wave)


class DeploymentModel(ListTableModel[DeviceRow]):
    """One row per selected device (of those the filter shows, in the chosen order)."""

    HEADERS = ("Device", "Site", "Updates", "Deployment", "Time", "Wave", "Pending deployment")

    def __init__(self, state: WizardState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.now = state.now()
        self.rows: list[int] = []  # indexes into `items`, as shown
        self._filter = ""
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._italic = QFont()
        self._italic.setItalic(True)

    @property
    def devices(self) -> list[DeviceRow]:
        """(device id, its targets) of every selected device, shown or not."""
        return self.items

    def reload(self) -> None:
        self.beginResetModel()
        self.items = self.state.selected_devices()
        self._refilter()
        self._set_wave_order()
        self.endResetModel()

    def device_at(self, row: int) -> DeviceRow:
        return self.items[self.rows[row]]

    # -- Qt model interface ------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

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
        if index.column() == WAVE_COLUMN and self.device_at(index.row())[0] in self.state.waves:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        device_id, targets = self.device_at(index.row())
        action = self.state.action(device_id)
        column = index.column()
        if column == PENDING_COLUMN:
            return self._pending_data(device_id, action.action, role)
        if column == WAVE_COLUMN:
            return self._wave_data(device_id, role)
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
                return action.at or next_full_hour(self.state.now())
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
        device_id = self.device_at(index.row())[0]
        current = self.state.action(device_id)
        # the editors give an action's value (text) and an aware datetime; anything else is refused
        if index.column() == ACTION_COLUMN and isinstance(value, str):
            chosen = DeployAction(value)
            at = (
                (current.at or next_full_hour(self.state.now()))
                if chosen is DeployAction.AT
                else None
            )
            new = DeviceAction(chosen, at)
        elif index.column() == WAVE_COLUMN and isinstance(value, int):
            self.move_rows([index.row()], value)
            return True
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
            self.index(index.row(), ACTION_COLUMN), self.index(index.row(), PENDING_COLUMN)
        )
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order) if column >= 0 else None
        self._refilter()
        self._set_wave_order()
        self.layoutChanged.emit()
        if column != WAVE_COLUMN:
            self._waves_changed()

    # -- what the page asks for --------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        self.beginResetModel()
        self._filter = text.strip().lower()
        self._refilter()
        self.endResetModel()

    @property
    def filtered(self) -> bool:
        return bool(self._filter)

    def set_rows(self, rows: list[int], action: DeviceAction) -> None:
        """Give the devices on (shown) `rows` the same action (and time)."""
        actions = self.state.actions
        for row in rows:
            actions[self.device_at(row)[0]] = action
        if rows:
            self.dataChanged.emit(
                self.index(min(rows), ACTION_COLUMN), self.index(max(rows), PENDING_COLUMN)
            )

    def move_rows(self, rows: list[int], wave: int) -> None:
        """Move the deploy-now devices on (shown) `rows` to `wave` by hand."""
        self.state.move_to_wave((self.device_at(row)[0] for row in rows), wave)
        self._waves_changed()

    def waves_changed(self) -> None:
        """Repaint the Wave column (the state re-filled the waves)."""
        self._waves_changed()

    def _waves_changed(self) -> None:
        if self.rows:
            last = len(self.rows) - 1
            self.dataChanged.emit(self.index(0, WAVE_COLUMN), self.index(last, WAVE_COLUMN))

    def past(self) -> list[tuple[str, datetime]]:
        """Devices whose chosen time is not in the future, with that time, by name."""
        self.now = self.state.now()
        late = self.state.late_times(self.now)
        plan = self.state.plan
        if not late or plan is None:
            return []
        names = {t.device.id: t.device.name for t in plan.targets}
        return sorted((names[device_id], at) for device_id, at in late)

    # -- internals ---------------------------------------------------------------------------

    def _action(self, row: int) -> DeviceAction:
        return self.state.action(self.device_at(row)[0])

    def _pending_data(self, device_id: int, action: DeployAction, role: int) -> object:
        pending = self.state.pending(device_id)
        if pending is None:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                return "—"
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return pending_effect(pending, action, self.now)
        if role == Qt.ItemDataRole.ToolTipRole:
            return pending_effect_tip(pending, action, self.now)
        if role == Qt.ItemDataRole.DecorationRole:
            return icon("info")
        return None

    def _wave_data(self, device_id: int, role: int) -> object:
        wave = self.state.waves.get(device_id)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return wave_text(wave) if wave is not None else ""
        if role == Qt.ItemDataRole.EditRole:
            return wave
        moved = wave is not None and device_id in self.state.moved_by_hand
        if role == Qt.ItemDataRole.FontRole and moved:
            return self._italic
        if role == Qt.ItemDataRole.ToolTipRole and moved:
            return "Moved to this wave by hand: it stays here when the waves are filled again."
        return None

    def _set_wave_order(self) -> None:
        """The waves fill in the table's order (every selected device, the filter aside); not
        when the table is sorted by wave."""
        if self._sort is not None and self._sort[0] == WAVE_COLUMN:
            return
        items = self.items
        if self._sort is None:
            order = None
        elif not self._filter:
            order = [items[i][0] for i in self.rows]
        else:
            column, descending = self._sort[0], self._sort[1] == Qt.SortOrder.DescendingOrder
            every = sorted(range(len(items)), key=self._sort_key(column), reverse=descending)
            order = [items[i][0] for i in every]
        self.state.set_wave_order(order)

    def _refilter(self) -> None:
        items = self.items
        needle = self._filter
        if needle:
            self.rows = [
                i
                for i, (_, targets) in enumerate(items)
                if needle in targets[0].device.name.lower()
                or needle in targets[0].device.site.lower()
                or any(needle in t.app.name for t in targets)
            ]
        else:
            self.rows = list(range(len(items)))
        if self._sort is not None:
            column, order = self._sort
            self.rows.sort(
                key=self._sort_key(column), reverse=order == Qt.SortOrder.DescendingOrder
            )

    def _sort_key(self, column: int) -> Callable[[int], SupportsRichComparison]:
        items = self.items
        state = self.state
        if column == 0:
            return lambda i: items[i][1][0].device.name.lower()
        if column == 1:
            return lambda i: items[i][1][0].device.site.lower()
        if column == 2:
            return lambda i: updates_text(items[i][1]).lower()
        if column == ACTION_COLUMN:
            order = {a: n for n, a in enumerate(ACTIONS)}
            return lambda i: order[state.action(items[i][0]).action]

        if column == TIME_COLUMN:

            def key(i: int) -> SupportsRichComparison:
                at = state.action(items[i][0]).at
                return (at is None, at.timestamp() if at is not None else 0.0)

            return key
        if column == WAVE_COLUMN:
            waves = state.waves
            return lambda i: waves.get(items[i][0], 1 << 30)
        pending = state.plan.pending if state.plan is not None else {}

        def pending_key(i: int) -> SupportsRichComparison:
            p = pending.get(items[i][0])
            return (p is None, p.run_id if p else 0, p.at.timestamp() if p and p.at else 0.0)

        return pending_key
