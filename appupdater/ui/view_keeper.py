"""Keeping a table's selection, current row and scroll position across a model reset (a
reload of the fleet), by a key of each row rather than by row number."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QItemSelection, QItemSelectionModel
from PySide6.QtWidgets import QAbstractItemView, QTableView

Flag = QItemSelectionModel.SelectionFlag


@dataclass(frozen=True)
class KeptView:
    selected: list[Hashable]
    current: Hashable | None
    top: Hashable | None  # the row shown at the top (None: scrolled to the start)
    horizontal: int

    @property
    def needs_rows(self) -> bool:
        """Whether restoring needs rows found by key (not when nothing was selected or
        scrolled: the cheap case of a first load)."""
        return bool(self.selected) or self.current is not None or self.top is not None


def remember(view: QTableView, key_of_row: Callable[[int], Hashable]) -> KeptView:
    selection = view.selectionModel()
    selected = [key_of_row(index.row()) for index in selection.selectedRows()]
    current = selection.currentIndex()
    top_row = view.rowAt(0) if view.verticalScrollBar().value() > 0 else -1
    return KeptView(
        selected,
        key_of_row(current.row()) if current.isValid() else None,
        key_of_row(top_row) if top_row >= 0 else None,
        view.horizontalScrollBar().value(),
    )


def restore(
    view: QTableView, kept: KeptView, rows_by_key: Callable[[], dict[Hashable, int]]
) -> None:
    """Select the kept rows again where they still are; scroll back to where the view was."""
    if kept.needs_rows:
        rows = rows_by_key()
        select_rows(view, (rows[k] for k in kept.selected if k in rows))
        model = view.model()
        if kept.current in rows:
            view.selectionModel().setCurrentIndex(model.index(rows[kept.current], 0), Flag.NoUpdate)
        if kept.top in rows:
            view.scrollTo(
                model.index(rows[kept.top], 0), QAbstractItemView.ScrollHint.PositionAtTop
            )
    view.horizontalScrollBar().setValue(kept.horizontal)


def select_rows(view: QTableView, rows: Iterable[int]) -> None:
    """Select whole `rows` (any number; contiguous ones as one range), replacing the selection.
    `QTableView.selectRow` would clear the others in extended selection mode."""
    model = view.model()
    last_column = model.columnCount() - 1
    selection = QItemSelection()
    start = previous = None
    for row in sorted(set(rows)):
        if start is None or previous is None or row != previous + 1:
            if start is not None and previous is not None:
                selection.select(model.index(start, 0), model.index(previous, last_column))
            start = row
        previous = row
    if start is not None and previous is not None:
        selection.select(model.index(start, 0), model.index(previous, last_column))
    view.selectionModel().select(selection, Flag.ClearAndSelect | Flag.Rows)
