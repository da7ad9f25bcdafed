"""The Devices page's item models: the checklist of affected (device, application) rows, and
the devices the plan skips with the reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal

from appupdater.core.catalog import VersionInfo
from appupdater.core.planning import Plan, PlanTarget, SkippedTarget
from appupdater.ui.icons import icon
from appupdater.ui.tables import ListTableModel, ModelIndex
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wizard.words import pending_effect_tip, pending_text

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

CHECKED, UNCHECKED = Qt.CheckState.Checked, Qt.CheckState.Unchecked


def _version(info: VersionInfo | None) -> str:
    return info.text if info is not None else "—"


class ChecklistModel(ListTableModel[PlanTarget]):
    """Affected (device, application) rows; the check belongs to the device, so a device with
    two applications is checked or unchecked on both rows at once. Filters and sorts in Python
    over row numbers (no proxy: 100k rows through a proxy's Python `data()` take seconds)."""

    selection_changed = Signal()
    HEADERS = (
        "Device",
        "Site",
        "Application",
        "Configured",
        "Installed",
        "Target",
        "State",
        "Pending deployment",
    )
    PENDING_COLUMN = 7

    def __init__(self, state: WizardState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.targets: list[PlanTarget] = []
        self.rows: list[int] = []
        self._filter = ""
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._rows_per_device: Counter[int] | None = None

    def set_plan(self, plan: Plan | None) -> None:
        self.beginResetModel()
        self.targets = plan.targets if plan is not None else []
        self._rows_per_device = None
        self.rows = self._filtered()
        self._apply_sort()
        self.endResetModel()

    # -- Qt model interface ------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        t = self.targets[self.rows[index.row()]]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(t, column)
        if column == self.PENDING_COLUMN:
            return self._pending_data(t, role)
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return CHECKED if t.device.id in self.state.selected else UNCHECKED
        if role == Qt.ItemDataRole.DecorationRole and column == 6:
            return icon("online" if t.device.online else "offline")
        if role == Qt.ItemDataRole.ToolTipRole and column == 6 and not t.device.online:
            return "Offline: its deployment waits and retries until the device is reachable."
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._text(t, column)
        return None

    def setData(
        self, index: ModelIndex, value: object, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        device_id = self.targets[self.rows[index.row()]].device.id
        self.set_checked([device_id], Qt.CheckState(value) == CHECKED)
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._apply_sort()
        self.layoutChanged.emit()

    # -- what the page asks for --------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        self.beginResetModel()
        self._filter = text.strip().lower()
        self.rows = self._filtered()
        self._apply_sort()
        self.endResetModel()

    def visible_devices(self) -> set[int]:
        return {self.targets[row].device.id for row in self.rows}

    @property
    def filtered(self) -> bool:
        return bool(self._filter)

    def selected_rows(self, devices: int) -> int:
        """How many (device, application) rows the selected devices have, of `devices`."""
        selected = self.state.selected
        if len(selected) in (0, devices):  # none or all (as planned): no counting
            return len(self.targets) if selected else 0
        if self._rows_per_device is None:
            self._rows_per_device = Counter(t.device.id for t in self.targets)
        per_device = self._rows_per_device
        return sum(per_device[device_id] for device_id in selected)

    def devices_at(self, rows: list[int]) -> set[int]:
        return {self.targets[self.rows[row]].device.id for row in rows}

    def set_checked(self, device_ids: Iterable[int], checked: bool) -> None:
        self.state.select(device_ids, checked)
        if self.rows:
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(len(self.rows) - 1, 0),
                [Qt.ItemDataRole.CheckStateRole],
            )
        self.selection_changed.emit()

    # -- internals ---------------------------------------------------------------------------

    def _pending_data(self, t: PlanTarget, role: int) -> object:
        pending = self.state.pending(t.device.id)
        if pending is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return pending_text(pending, self.state.now())
        if role == Qt.ItemDataRole.ToolTipRole:
            return pending_effect_tip(
                pending, self.state.action(t.device.id).action, self.state.now()
            )
        if role == Qt.ItemDataRole.DecorationRole:
            return icon("deploy-at" if pending.at is not None else "deploy-now")
        return None

    def _text(self, t: PlanTarget, column: int) -> str:
        if column == self.PENDING_COLUMN:
            pending = self.state.pending(t.device.id)
            return pending_text(pending, self.state.now()) if pending is not None else ""
        if column == 0:
            return t.device.name
        if column == 1:
            return t.device.site
        if column == 2:
            return t.app.name
        if column == 3:
            return _version(t.configured)
        if column == 4:
            return _version(t.installed)
        if column == 5:
            return t.to_version.text
        return "online" if t.device.online else "offline"

    def _filtered(self) -> list[int]:
        if not self._filter:
            return list(range(len(self.targets)))
        needle = self._filter
        return [
            i
            for i, t in enumerate(self.targets)
            if needle in t.device.name.lower()
            or needle in t.device.site.lower()
            or needle in t.app.name
        ]

    def _apply_sort(self) -> None:
        if self._sort is None:
            return
        column, order = self._sort
        targets = self.targets
        if column in (3, 4, 5):
            attr = ("configured", "installed", "to_version")[column - 3]

            def key(i: int) -> SupportsRichComparison:
                version = getattr(targets[i], attr)
                return (version is not None, version.parsed.key if version else ())
        elif column == self.PENDING_COLUMN:
            pending = self.state.plan.pending if self.state.plan is not None else {}

            def key(i: int) -> SupportsRichComparison:
                p = pending.get(targets[i].device.id)
                return (0, 0.0) if p is None else (p.run_id, p.at.timestamp() if p.at else 0.0)
        else:

            def key(i: int) -> SupportsRichComparison:
                return self._text(targets[i], column).lower()

        self.rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)


class SkippedModel(ListTableModel[SkippedTarget]):
    """Devices left out of the update, with the reason."""

    HEADERS = ("Device", "Site", "Application", "Configured", "Installed", "Reason")

    def set_items(self, items: list[SkippedTarget]) -> None:
        self.beginResetModel()
        self.items = items
        self.endResetModel()

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        s = self.items[index.row()]
        values = (
            s.device.name,
            s.device.site,
            s.app.name,
            _version(s.configured),
            _version(s.installed),
            s.reason,
        )
        return values[index.column()]
