"""The Audit log's table: the entries read so far, newest first. Rows arrive a page at a time;
when the view scrolls near the end the model asks for more (`more_wanted`), and whoever reads
the database off the GUI thread hands the page to `append`."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QColor

from appupdater.core.audit import REFUSED
from appupdater.core.audit_query import Entry, objects_text
from appupdater.ui.tables import ListTableModel, ModelIndex

OBJECTS_SHOWN = 4  # per kind in a cell; the tooltip and the CSV have more
OBJECTS_TIP = 60
REFUSED_COLOR = QColor("#b71c1c")


def time_text(entry: Entry) -> str:
    """The entry's time in the workstation's local time, to the second."""
    return entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class AuditModel(ListTableModel[Entry]):
    """Entries newest first; `more_wanted` when the view wants rows past the last one read."""

    TIME, USER, HOST, ACTION, OBJECTS, NOTE, OUTCOME = range(7)
    HEADERS = ("Time", "User", "Host", "Action", "Objects", "Note", "Outcome")

    more_wanted = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.more = False  # whether entries past the last row exist (as far as is known)
        self.fetching = False

    def set_entries(self, entries: list[Entry], more: bool) -> None:
        self.beginResetModel()
        self.items = list(entries)
        self.more = more
        self.fetching = False
        self.endResetModel()

    def append(self, entries: list[Entry], more: bool) -> None:
        """The page after the last row."""
        self.fetching = False
        self.more = more
        if entries:
            start = len(self.items)
            self.beginInsertRows(QModelIndex(), start, start + len(entries) - 1)
            self.items.extend(entries)
            self.endInsertRows()

    def merge(self, entries: list[Entry]) -> list[int]:
        """Entries a look found, each put at its place by time (an entry committed late may
        belong below rows already shown). One below the last row read is left to the pages
        still to come, and one already here is not shown twice. The rows inserted, in order."""
        rows = []
        shown = {e.id for e in self.items}
        for entry in sorted(entries, key=lambda e: e.key, reverse=True):
            if entry.id in shown:
                continue
            row = self.row_for(entry.key)
            if row == len(self.items) and self.more:
                continue
            self.beginInsertRows(QModelIndex(), row, row)
            self.items.insert(row, entry)
            self.endInsertRows()
            shown.add(entry.id)
            rows.append(row)
        return rows

    def row_for(self, key: tuple[datetime, int]) -> int:
        """Where an entry with `key` stands among the rows (newest first)."""
        low, high = 0, len(self.items)
        while low < high:
            middle = (low + high) // 2
            if self.items[middle].key > key:
                low = middle + 1
            else:
                high = middle
        return low

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.more and not self.fetching

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self.fetching = True
            self.more_wanted.emit()

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        entry = self.items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == self.OBJECTS:
                return objects_text(entry.objects, most=OBJECTS_TIP) or None
            if column == self.USER:
                return f"Database user {entry.user}, OS user {entry.os_user or 'unknown'}"
            if column == self.TIME:
                return entry.at.strftime("%Y-%m-%d %H:%M:%S UTC")
            text = self._text(entry, column)
            return text or None
        if role == Qt.ItemDataRole.ForegroundRole and column == self.OUTCOME:
            return REFUSED_COLOR if entry.outcome.startswith(REFUSED) else None
        return None

    def _text(self, entry: Entry, column: int) -> str:
        if column == self.TIME:
            return time_text(entry)
        if column == self.USER:
            return entry.who()
        if column == self.HOST:
            return entry.host
        if column == self.ACTION:
            return entry.action
        if column == self.OBJECTS:
            return objects_text(entry.objects, most=OBJECTS_SHOWN)
        if column == self.NOTE:
            return " ".join(entry.note.split())
        return entry.outcome
