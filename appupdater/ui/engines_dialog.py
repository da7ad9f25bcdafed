"""View → Engines…: the engines sharing this database (this window's, other App Updaters,
`appupdater engine` services), where each runs, since when, and how many deployments each runs
now. Read every two seconds off the GUI thread; an engine whose heartbeat counter stands still
while the dialog watches is shown as silent (another engine takes its deployments over)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.engines import EngineRow, engines
from appupdater.core.liveness import Watch
from appupdater.core.words import noun, plural
from appupdater.store.fields import utcnow
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.timefmt import short_local_text

COLUMNS = ("Host", "Process", "Started", "Last heartbeat", "Running now", "State")
POLL_MS = 2000


class EnginesDialog(QDialog):
    def __init__(
        self,
        own_instance: str,
        stale_after: timedelta,
        tasks: BackgroundTasks,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Engines — App Updater")
        self.own_instance = own_instance
        self.stale_after = stale_after
        self.tasks = tasks
        self._watch = Watch("", stale_after, tick=timedelta(milliseconds=POLL_MS))
        self._reading: int | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.headerItem().setToolTip(
            3, "As the engine's own clock said; engines are judged by their heartbeat counter"
        )
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #c62828;")
        self.problem.setWordWrap(True)
        self.problem.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.resize(760, 300)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.read)
        self._timer.start()
        self.read()

    def read(self) -> None:
        """Read the engines off the GUI thread; a read still running is not doubled."""
        if self._reading is None:
            self._reading = self.tasks.submit(engines, self._show, self._failed)

    def _failed(self, error: BaseException) -> None:
        self._reading = None
        self.problem.setText(f"Could not read the engines: {error}")
        self.problem.show()

    def _show(self, rows: list[EngineRow]) -> None:
        self._reading = None
        self.problem.hide()
        silent = self._watch.silent({row.id: row.beat for row in rows})
        self.tree.clear()
        now = utcnow()
        for row in rows:
            if row.id == self.own_instance:
                state = "alive (this window's)"
            elif row.id in silent:
                state = "silent: its deployments are taken over"
            else:
                state = "alive"
            item = QTreeWidgetItem(
                [
                    row.host,
                    str(row.pid),
                    short_local_text(row.started_at, now),
                    short_local_text(row.heartbeat_at, now),
                    plural(row.running, "deployment"),
                    state,
                ]
            )
            item.setTextAlignment(4, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
        running = sum(row.running for row in rows)
        deployments = f"{plural(running, 'deployment')} {noun(running, 'runs', 'run')} now"
        seconds = f"{self.stale_after.total_seconds():g} s"
        if len(rows) <= 1:
            alone = "One engine runs on" if rows else "No engine runs on"
            self.summary.setText(f"{alone} this database; {deployments}.")
        else:
            self.summary.setText(
                f"{plural(len(rows), 'engine')} share this database; {deployments}. An engine "
                f"that stops has its running deployments taken over by another after {seconds} "
                "without a heartbeat."
            )

    def done(self, result: int) -> None:
        self._timer.stop()
        if self._reading is not None:
            self.tasks.forget(self._reading)
            self._reading = None
        super().done(result)
