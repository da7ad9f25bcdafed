"""The Finalize page's tree: device → application → module, over the plan, built lazily.

For a device that will be deployed, an application shows what the *device* undergoes: from the
version it runs to the target (DESIGN.md: a device configured 4.0.0 but running 3.6.0 goes
from 3.6.0), and says where its configuration was; for a "do not deploy" device, the
configuration's change. A deployed device also lists the other applications its deployment
pushes because their configuration is not what the device runs (core/along.py), marked so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QBrush, QFont

from appupdater.core.along import AlongChange
from appupdater.core.planning import ModuleChange, Plan, PlanTarget
from appupdater.core.words import plural
from appupdater.store.models import DeployAction
from appupdater.ui.icons import icon
from appupdater.ui.tables import ModelIndex
from appupdater.ui.timefmt import local_text
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wording import (
    ACTION_ICON,
    ACTION_TEXT,
    ALONG_TEXT,
    OP_COLOUR,
    OP_ICON,
    OP_TEXT,
)

TOP = 0  # internal id of device rows
SHIFT = 10  # low bits of an internal id: a target's index within its device, plus one

DeviceItem = tuple[int, list[PlanTarget]]  # a device id and its targets
Child = PlanTarget | AlongChange  # an application row under a device


def wave_sizes(state: WizardState) -> list[int]:
    """How many devices each wave has (a wave emptied by hand counts 0); [] when all at once."""
    counts = [0] * state.wave_count()
    for wave in state.waves.values():
        counts[wave - 1] += 1
    return counts


def strategy_html(state: WizardState) -> str:
    """The rollout in a sentence: all at once, or the waves, their sizes, soak and limit."""
    strategy = state.strategy
    if strategy is None:
        return "<b>All at once</b>: every deploy-now device starts when you approve."
    sizes = wave_sizes(state)
    if not sizes:
        return "<b>In waves</b>, but no device deploys now."
    rest = [f"{size:,}" for size in sizes[1:]]
    if len(rest) > 7:
        rest = [*rest[:6], f"… {rest[-1]}"]
    canary = f"a canary of {plural(sizes[0], 'device')}"
    listed = f"{canary}, then {', '.join(rest[:-1])} and {rest[-1]}" if len(rest) > 1 else canary
    if len(rest) == 1:
        listed += f", then {plural(sizes[1], 'device')}"
    elif rest:
        listed += " devices"
    soak = strategy.soak_minutes
    after = (
        f"each wave starts {soak:g} min after the previous one finished"
        if soak
        else "each wave starts as soon as the previous one finished"
    )
    return (
        f"<b>In {plural(len(sizes), 'wave')}</b>: {listed}; {after}; the run pauses "
        f"when more than {strategy.max_failures_percent:g} % of its finished deployments fail."
    )


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
        self.search = ""  # shown: devices whose name or site contains it (any case)
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)

    def reload(self) -> None:
        self.beginResetModel()
        self.plan = self.state.plan or Plan([], [], [])
        self.devices = self.state.selected_devices()
        if self.search:
            needle = self.search.casefold()
            self.devices = [
                item
                for item in self.devices
                if needle in item[1][0].device.name.casefold()
                or needle in item[1][0].device.site.casefold()
            ]
        self.shown = min(len(self.devices), self.BATCH)
        self.endResetModel()

    def set_search(self, text: str) -> None:
        self.search = text.strip()
        self.reload()

    def deploys(self, device_id: int) -> bool:
        return self.state.action(device_id).action is not DeployAction.NONE

    def apps_of(self, device_row: int) -> Sequence[Child]:
        """A device's application rows: the run's targets, then (when it is deployed) what its
        deployment also pushes."""
        device_id, targets = self.devices[device_row]
        along = self.plan.along.get(device_id)
        if along and self.deploys(device_id):
            return [*targets, *along]
        return targets

    def shown_changes(self, target: Child) -> tuple[ModuleChange, ...]:
        """What the tree lists under an application: the device's change when it is deployed,
        else the configuration's; for an application pushed along, from what the device runs."""
        if isinstance(target, AlongChange):
            return target.changes
        if self.deploys(target.device.id):
            return self.plan.device_changes(target)
        return self.plan.changes(target)

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
            return len(self.apps_of(parent.row()))
        if pid & ((1 << SHIFT) - 1):
            return 0
        target = self.apps_of((pid >> SHIFT) - 1)[parent.row()]
        return len(self.shown_changes(target))

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    # -- content -------------------------------------------------------------------------

    def _item(self, index: ModelIndex) -> DeviceItem | Child | ModuleChange:
        iid = index.internalId()
        if iid == TOP:
            return self.devices[index.row()]
        device_row = (iid >> SHIFT) - 1
        target_row = (iid & ((1 << SHIFT) - 1)) - 1
        targets = self.apps_of(device_row)
        if target_row < 0:
            return targets[index.row()]
        return self.shown_changes(targets[target_row])[index.row()]

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        item = self._item(index)
        column = index.column()
        if isinstance(item, tuple):
            return self._device_data(item, column, role)
        if isinstance(item, PlanTarget):
            return self._target_data(item, column, role)
        if isinstance(item, AlongChange):
            return self._along_data(item, column, role)
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
                text = f"{text}: {local_text(action.at)}" if action.at else text
                wave = self.state.waves.get(device_id)
                if wave is not None:
                    text += f", wave {wave}" + (" (canary)" if wave == 1 else "")
                pending = self.plan.pending.get(device_id)
                if pending is not None and pending.supersedable and self.deploys(device_id):
                    text += f" (replaces the waiting deployment of run #{pending.run_id})"
                return text
        if role == Qt.ItemDataRole.DecorationRole:
            if column == 0:
                return icon("device")
            if column == 4:
                return icon(ACTION_ICON[action.action])
        if role == Qt.ItemDataRole.FontRole and column == 0:
            return self._bold
        return None

    def _target_data(self, t: PlanTarget, column: int, role: int) -> object:
        deployed = self.deploys(t.device.id)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return t.app.name
            if column == 2:
                return (t.device_from if deployed else t.from_version).text
            if column == 3:
                return t.to_version.text
            if column == 4 and t.device_differs:
                configured = t.configured.text if t.configured is not None else "none"
                if deployed:
                    return f"device runs {t.device_from.text}; configuration was at {configured}"
                return f"configuration only; device runs {t.device_from.text}"
        if role == Qt.ItemDataRole.ToolTipRole and column in (2, 4) and t.device_differs:
            return self._differs_note(t, deployed)
        if role == Qt.ItemDataRole.FontRole and column == 4:
            return self._italic
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return icon("application")
        return None

    def _along_data(self, c: AlongChange, column: int, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole:
            return (c.application, None, c.from_text, c.configured.text, ALONG_TEXT)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            runs = (
                f"runs {c.installed.text}"
                if c.installed is not None
                else "has not reported a version of it"
            )
            return (
                f"{c.application} is not part of this update. Its configuration was set to "
                f"{c.configured.text} earlier, without a deployment that reached the device, "
                f"which {runs}. A deployment pushes the device's whole configuration, so this "
                f"one installs {c.application} {c.configured.text} too."
            )
        if role == Qt.ItemDataRole.FontRole and column in (0, 4):
            return self._italic
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return icon("application")
        return None

    @staticmethod
    def _differs_note(t: PlanTarget, deployed: bool) -> str:
        configured = t.configured.text if t.configured is not None else "none"
        if deployed:
            return (
                f"The device runs {t.device_from.text}; its configuration was at {configured}. "
                "The modules shown are what the deployment changes on the device."
            )
        return (
            f"Configuration only: {t.from_version.text} → {t.to_version.text}. "
            f"The device still runs {t.device_from.text}."
        )

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
