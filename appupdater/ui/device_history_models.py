"""Item models of the device history dialog: the revisions, the selected revision's configured
map, its module-level changes from the revision before (a tree: application → module, worded and
coloured as on the Finalize page), and the deployments that pushed it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QFont, QStandardItem, QStandardItemModel

from appupdater.core.config_history import Revision, RevisionDeployment
from appupdater.ui.icons import icon
from appupdater.ui.overview.style import STATE_COLOUR, STATE_ICON
from appupdater.ui.tables import ListTableModel, ModelIndex
from appupdater.ui.timefmt import local_text
from appupdater.ui.wording import OP_COLOUR, OP_ICON, OP_TEXT


def reason_text(revision: Revision) -> str:
    """Why the revision was made, as stored ("run #12", "import of fleet.yaml", "rollback of
    run #12", "migrated"), then the run that made it when the reason does not name it."""
    if revision.run_id is not None and revision.reason != f"run #{revision.run_id}":
        return f"{revision.reason}, made by run #{revision.run_id}"
    return revision.reason


class RevisionsModel(ListTableModel[Revision]):
    """The device's revisions, newest first; the newest is the current one, in bold."""

    HEADERS = ("Revision", "When", "By", "Reason")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bold = QFont()
        self._bold.setBold(True)

    def set_revisions(self, revisions: list[Revision]) -> None:
        self.beginResetModel()
        self.items = list(revisions)
        self.endResetModel()

    def is_current(self, row: int) -> bool:
        return row == 0 and bool(self.items)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not self.valid_row(index):
            return None
        revision = self.items[index.row()]
        column = index.column()
        current = self.is_current(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"{revision.number} (current)" if current else str(revision.number)
            if column == 1:
                return local_text(revision.at)
            if column == 2:
                return revision.by
            return revision.reason
        if role == Qt.ItemDataRole.FontRole and current:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            replaced = (
                f"replaced revision {revision.replaced}"
                if revision.replaced is not None
                else "the device's first revision"
            )
            now = "the current configuration; " if current else ""
            return (
                f"Revision {revision.number}: {now}{replaced}; {reason_text(revision)}, "
                f"by {revision.by}"
            )
        return None


class ConfiguredModel(ListTableModel[tuple[str, str]]):
    """A revision's whole configured map: application and version."""

    HEADERS = ("Application", "Version")

    def set_configured(self, configured: dict[str, str]) -> None:
        self.beginResetModel()
        self.items = sorted(configured.items())
        self.endResetModel()

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not self.valid_row(index):
            return None
        app, version = self.items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (app, version)[index.column()]
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 0:
            return icon("application")
        return None


class DeploymentsModel(ListTableModel[RevisionDeployment]):
    """The deployments of the run that made a revision, with their outcome."""

    HEADERS = ("Deployment", "Run", "State", "Finished", "Last message")

    def set_deployments(self, deployments: tuple[RevisionDeployment, ...]) -> None:
        self.beginResetModel()
        self.items = list(deployments)
        self.endResetModel()

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not self.valid_row(index):
            return None
        d = self.items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                f"#{d.id}",
                f"#{d.run_id}",
                d.state.value,
                local_text(d.finished_at),
                d.last_message,
            )[column]
        if role == Qt.ItemDataRole.DecorationRole and column == 2:
            return icon(STATE_ICON.get(d.state, "info"))
        if role == Qt.ItemDataRole.ForegroundRole and column == 2:
            colour = STATE_COLOUR.get(d.state)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.ToolTipRole and column == 4 and d.last_message:
            return d.last_message
        return None


CHANGE_HEADERS = ("Application / module", "Operation", "From", "To")


def changes_model(revision: Revision | None, parent: QObject | None = None) -> QStandardItemModel:
    """The revision's changes from the one before: a row per application (from → to), under it
    a row per module that was Added, Removed or Modified."""
    model = QStandardItemModel(parent)
    fill_changes(model, revision)
    return model


def fill_changes(model: QStandardItemModel, revision: Revision | None) -> None:
    model.clear()
    model.setHorizontalHeaderLabels(list(CHANGE_HEADERS))
    if revision is None:
        return
    bold = QFont()
    bold.setBold(True)
    for change in revision.changes:
        app = _cell(change.application)
        app.setIcon(icon("application"))
        app.setFont(bold)
        # an application row's operation only when it came or went, as on the Finalize page
        if change.from_version is None:
            operation = "Added"
        elif change.to_version is None:
            operation = "Removed"
        else:
            operation = ""
        row = [
            app,
            _cell(operation),
            _cell(change.from_version or "—"),
            _cell(change.to_version or "—"),
        ]
        for module in change.modules:
            op = _cell(OP_TEXT[module.op])
            op.setIcon(icon(OP_ICON[module.op]))
            op.setForeground(QBrush(OP_COLOUR[module.op]))
            app.appendRow(
                [
                    _cell(module.module),
                    op,
                    _cell(module.from_version or "—"),
                    _cell(module.to_version or "—"),
                ]
            )
        model.appendRow(row)


def _cell(text: str) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    return item
