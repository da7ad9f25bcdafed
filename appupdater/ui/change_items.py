"""A module change as a tree row, the same wherever one is listed (the overview's changes pane,
the review of a run awaiting a decision)."""

from __future__ import annotations

from PySide6.QtWidgets import QTreeWidgetItem

from appupdater.core.planning import ModuleChange
from appupdater.ui.icons import icon
from appupdater.ui.wording import OP_COLOUR, OP_ICON, OP_TEXT


def module_change_item(change: ModuleChange) -> QTreeWidgetItem:
    """Module, operation (icon and colour), from, to ("—" where there is none)."""
    item = QTreeWidgetItem(
        [change.module, OP_TEXT[change.op], change.from_version or "—", change.to_version or "—"]
    )
    item.setIcon(1, icon(OP_ICON[change.op]))
    item.setForeground(1, OP_COLOUR[change.op])
    return item
