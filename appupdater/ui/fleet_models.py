"""Item models of the main window: applications, and the devices with their versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics
from PySide6.QtWidgets import QTableView

from appupdater.core.inventory import (
    AppSummary,
    DeviceHealthCell,
    DeviceRow,
    Inventory,
    VersionCell,
)
from appupdater.core.versions import parse_version
from appupdater.ui.icons import icon
from appupdater.ui.tables import ListTableModel, ModelIndex
from appupdater.ui.timefmt import local_text

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

BEHIND = QColor("#b26a00")
UNHEALTHY = QColor("#c62828")
CELL_MARGIN = 10  # each side of a cell's text, with room for the style's own padding
HEADER_MARGIN = 36  # a header's padding and its sort indicator


class ApplicationsModel(ListTableModel[AppSummary]):
    """Application, latest version, devices behind."""

    HEADERS = ("Application", "Latest", "Behind")

    @property
    def apps(self) -> list[AppSummary]:
        return self.items

    def set_apps(self, apps: list[AppSummary]) -> None:
        self.beginResetModel()
        self.items = list(apps)
        self.endResetModel()

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.ToolTipRole
            and section == 2
        ):
            return "Devices configured for, or running, a version earlier than the latest"
        return super().headerData(section, orientation, role)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.apps):
            return None
        app = self.apps[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (app.name, app.latest, f"{app.behind} of {app.devices}")[column]
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return icon("application")
        if role == Qt.ItemDataRole.ForegroundRole and column == 2 and app.behind:
            return QBrush(BEHIND)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{app.name}: {app.versions} versions, latest {app.latest}; "
                f"{app.behind} of {app.devices} devices behind"
            )
        return None


LEGEND = (
    f"<span style='color:{BEHIND.name()}'>Orange</span>: behind the latest version · "
    "<b>1.0.0 → 2.1.0</b>: runs 1.0.0, configured to run 2.1.0 (not deployed yet) · "
    "<b>→ 2.1.0</b>: configured, nothing reported yet · "
    "<b>(unmanaged)</b>: runs a version no configuration asks for · "
    "<b>drifted</b>: ran its configuration, now runs something else"
)


def health_text(cell: DeviceHealthCell | None) -> str:
    return cell.health if cell is not None else ""


def health_tooltip(cell: DeviceHealthCell | None, online: bool) -> str:
    """Each module's health as the newest answering probe found it, and when."""
    if cell is None:
        return "Not probed yet: health is known for devices with an agent once one answered"
    when = f"as of {local_text(cell.at)}" + ("" if online else ", offline since")
    detail = cell.detail or "the agent named no modules"
    return f"Health {when}:\n{detail}"


def drift_text(cell: DeviceHealthCell | None) -> str:
    return (cell.drift or "") if cell is not None else ""


def drift_tooltip(cell: DeviceHealthCell | None) -> str:
    if cell is None:
        return "Not probed yet"
    if not cell.drift:
        return "Runs what it is configured to run (or was not deployed to since)"
    return (
        f"Drifted: {cell.drift}.\nIt ran its configuration and now runs something else "
        "(fell back on its own, or was changed on the device). Deploy its configuration "
        "again, or look at the device."
    )


def is_unhealthy(device: DeviceRow) -> bool:
    return device.health is not None and device.health.health == "unhealthy"


def is_drifted(device: DeviceRow) -> bool:
    return device.health is not None and device.health.drift is not None


def version_cell(cell: VersionCell | None) -> str:
    """How a device's versions of one application read in a cell."""
    if cell is None:
        return ""
    configured, installed, _ = cell
    if configured == installed:
        return configured or ""
    if configured is None:
        return f"{installed} (unmanaged)"
    if installed is None:
        return f"→ {configured}"
    return f"{installed} → {configured}"


def version_tooltip(app: str, cell: VersionCell | None) -> str:
    """A device's versions of `app` in words, for the cell's tooltip."""
    if cell is None:
        return f"{app} is not on this device"
    configured, installed, behind = cell
    text = f"{app}: configured {configured or '—'}, installed {installed or '—'}"
    if configured is None:
        text += " (unmanaged: no configured version)"
    if configured and installed and configured != installed:
        text += " (configuration not yet deployed)"
    return text + (", behind the latest" if behind else "")


class DevicesModel(ListTableModel[DeviceRow]):
    """Every device: name, site, state, then one column per application. Sorted and searched
    in Python over row numbers: a proxy model over 100,000 rows is too slow."""

    FIXED = ("Device", "Site", "State", "Health", "Drift")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.app_names: list[str] = []
        self.devices: list[DeviceRow] = []
        self.rows: list[int] = []
        self._search = ""
        self._drifted_only = False
        self._unhealthy_only = False
        self.drifted = 0  # devices drifted, of all (not only the shown)
        self.unhealthy = 0
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_devices(self, app_names: list[str], devices: list[DeviceRow]) -> None:
        self.beginResetModel()
        self.app_names = list(app_names)
        self.devices = devices
        self.drifted = sum(map(is_drifted, devices))
        self.unhealthy = sum(map(is_unhealthy, devices))
        self.rows = self._matching()
        self._apply_sort()
        self.endResetModel()

    def set_search(self, text: str) -> None:
        self.beginResetModel()
        self._search = text.strip().lower()
        self.rows = self._matching()
        self._apply_sort()
        self.endResetModel()

    def set_filters(self, *, drifted: bool, unhealthy: bool) -> None:
        """Show only drifted devices, only unhealthy ones, or (both) only those that are both."""
        self.beginResetModel()
        self._drifted_only, self._unhealthy_only = drifted, unhealthy
        self.rows = self._matching()
        self._apply_sort()
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def headers(self) -> tuple[str, ...]:
        return (*self.FIXED, *self.app_names)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        device = self.devices[self.rows[index.row()]]
        column = index.column()
        app_column = column - len(self.FIXED)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return device.name
            if column == 1:
                return device.site
            if column == 2:
                return "online" if device.online else "offline"
            if column == 3:
                return health_text(device.health)
            if column == 4:
                return drift_text(device.health)
            return version_cell(device.versions[app_column])
        if role == Qt.ItemDataRole.DecorationRole:
            if column == 2:
                return icon("online" if device.online else "offline")
            if column == 3 and device.health is not None:
                return icon(f"health-{device.health.health}")
            if column == 4 and is_drifted(device):
                return icon("drift")
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 3 and is_unhealthy(device):
                return QBrush(UNHEALTHY)
            if column == 4:
                return QBrush(BEHIND)
            cell = device.versions[app_column] if app_column >= 0 else None
            if cell is not None and cell[2]:
                return QBrush(BEHIND)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 3:
                return health_tooltip(device.health, device.online)
            if column == 4:
                return drift_tooltip(device.health)
            if app_column >= 0:
                return version_tooltip(self.app_names[app_column], device.versions[app_column])
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._apply_sort()
        self.layoutChanged.emit()

    def _matching(self) -> list[int]:
        needle, drifted, unhealthy = self._search, self._drifted_only, self._unhealthy_only
        if not (needle or drifted or unhealthy):
            return list(range(len(self.devices)))
        return [
            i
            for i, d in enumerate(self.devices)
            if (not needle or needle in d.name.lower() or needle in d.site.lower())
            and (not drifted or is_drifted(d))
            and (not unhealthy or is_unhealthy(d))
        ]

    def _apply_sort(self) -> None:
        if self._sort is None:
            return
        column, order = self._sort
        devices = self.devices
        if column == 0:

            def key(i: int) -> SupportsRichComparison:
                return devices[i].name.lower()
        elif column == 1:

            def key(i: int) -> SupportsRichComparison:
                return (devices[i].site.lower(), devices[i].name.lower())
        elif column == 2:

            def key(i: int) -> SupportsRichComparison:
                return (devices[i].online, devices[i].name.lower())
        elif column == 3:  # the unhealthy first (ascending), then unknown, healthy, not probed

            def key(i: int) -> SupportsRichComparison:
                cell = devices[i].health
                rank = HEALTH_ORDER.get(cell.health, 3) if cell is not None else 4
                return (rank, devices[i].name.lower())
        elif column == 4:  # the drifted first

            def key(i: int) -> SupportsRichComparison:
                return (not is_drifted(devices[i]), devices[i].name.lower())
        else:
            slot = column - len(self.FIXED)

            def key(i: int) -> SupportsRichComparison:
                cell = devices[i].versions[slot]
                if cell is None or cell[1] is None:
                    return (0, ())
                return (1, parse_version(cell[1]).key)

        self.rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)


HEALTH_ORDER = {"unhealthy": 0, "unknown": 1, "healthy": 2}


def fit_version_columns(view: QTableView, inventory: Inventory) -> None:
    """The devices table's application columns wide enough for their longest cell."""
    cells, header = view.fontMetrics(), view.horizontalHeader().fontMetrics()
    for slot, app in enumerate(inventory.apps):
        versions = [v.text for v in inventory.catalog.apps[app.name].versions]
        width = version_column_width(cells, header, app.name, versions)
        view.setColumnWidth(len(DevicesModel.FIXED) + slot, width)


def version_column_width(
    cells: QFontMetrics, header: QFontMetrics, app: str, versions: list[str]
) -> int:
    """A width for `app`'s column that shows its longest cell uncut: the widest version
    changing to the widest (`2024.10 → 2024.11`), or marked unmanaged, and the header."""
    widest = max(versions, key=cells.horizontalAdvance, default="")
    texts = (f"{widest} → {widest}", f"{widest} (unmanaged)")
    text_width = max(cells.horizontalAdvance(t) for t in texts)
    return max(text_width + 2 * CELL_MARGIN, header.horizontalAdvance(app) + HEADER_MARGIN)
