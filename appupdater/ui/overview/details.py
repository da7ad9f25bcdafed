"""The selected deployment below the list: its event log beside the module changes it carries
(what the device undergoes)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QSplitter, QTreeWidget, QTreeWidgetItem, QWidget

from appupdater.core.planning import ModuleChange
from appupdater.ui.icons import icon
from appupdater.ui.wording import OP_COLOUR, OP_ICON, OP_TEXT

# (application, from, to, module changes) per target the deployment carries
Carried = list[tuple[str, str, str, tuple[ModuleChange, ...]]]


class DeploymentDetails(QSplitter):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.log = QTreeWidget()
        self.log.setAccessibleName("Event log")
        self.log.setHeaderLabels(["Time", "Level", "Event"])
        self.log.setRootIsDecorated(False)
        self.log.setColumnWidth(0, 150)
        self.log.setColumnWidth(1, 60)
        self.changes = QTreeWidget()
        self.changes.setAccessibleName("Module changes")
        self.changes.setHeaderLabels(["Application / module", "Operation", "From", "To"])
        self.changes.setColumnWidth(0, 200)
        self.addWidget(self.log)
        self.addWidget(self.changes)
        self.setSizes([620, 420])

    def clear(self) -> None:
        self.log.clear()
        self.changes.clear()

    def show_deployment(self, log: list[tuple[datetime, str, str]], carried: Carried) -> None:
        self.clear()
        for at, level, message in log:
            item = QTreeWidgetItem([at.astimezone().strftime("%Y-%m-%d %H:%M:%S"), level, message])
            item.setToolTip(2, message)
            self.log.addTopLevelItem(item)
        self.log.scrollToBottom()
        for app, start, end, module_changes in carried:
            parent = QTreeWidgetItem([app, "", start, end])
            parent.setIcon(0, icon("application"))
            for change in module_changes:
                child = QTreeWidgetItem(
                    [
                        change.module,
                        OP_TEXT[change.op],
                        change.from_version or "—",
                        change.to_version or "—",
                    ]
                )
                child.setIcon(1, icon(OP_ICON[change.op]))
                child.setForeground(1, OP_COLOUR[change.op])
                parent.addChild(child)
            self.changes.addTopLevelItem(parent)
            parent.setExpanded(True)
