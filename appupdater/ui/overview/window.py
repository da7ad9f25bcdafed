"""The Deployment Overview window: follows every run by polling the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.overview import (
    DeploymentRow,
    RunSummary,
    carried_changes,
    deployment_rows,
    events,
    export_run_csv,
    newest_revision,
    newest_run,
    run_summaries,
    target_summaries,
)
from appupdater.engine.engine import Engine
from appupdater.heap import gc_paused, settle
from appupdater.store.fields import utcnow
from appupdater.store.revisions import current_revision
from appupdater.ui.icons import icon
from appupdater.ui.overview.delegates import ProgressDelegate, StackedBarDelegate
from appupdater.ui.overview.models import DeploymentsModel, RunsModel, counts_of
from appupdater.ui.overview.style import STATES
from appupdater.ui.tables import configure_table
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.timefmt import (
    from_qdatetime,
    local_text,
    next_full_hour,
    to_qdatetime,
    zone_text,
)
from appupdater.ui.wording import OP_COLOUR, OP_ICON, OP_TEXT

ALL_RUNS = None


class RescheduleDialog(QDialog):
    """A new time for the selected deployments, with the wizard's rules (future, local time)."""

    def __init__(self, count: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Reschedule")
        self.edit = QDateTimeEdit(to_qdatetime(next_full_hour()))
        self.edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.edit.setCalendarPopup(True)
        self.edit.setAccessibleName("New deployment time")
        self.error = QLabel()
        self.error.setStyleSheet("color: #c62828; font-weight: bold;")
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Deploy {count} selected deployment(s) at:"))
        layout.addWidget(self.edit)
        layout.addWidget(QLabel(f"Times are in {zone_text()}"))
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def chosen(self) -> datetime:
        return from_qdatetime(self.edit.dateTime())

    def _accept(self) -> None:
        if self.chosen() <= utcnow():
            self.error.setText(f"{local_text(self.chosen())} is in the past: choose a later time.")
            self.error.show()
            return
        self.accept()


class OverviewWindow(QMainWindow):
    """Runs above, their deployments in the middle, the selected one's log and changes below."""

    refreshed = Signal()  # after every successful refresh (tests and the indicator wait on it)

    def __init__(
        self,
        engine: Engine,
        tasks: BackgroundTasks | None = None,
        parent: QWidget | None = None,
        interval_ms: int = 1000,
    ):
        super().__init__(parent)
        self.tasks = tasks or BackgroundTasks(self, threads=1, keep_connections=True)
        self.engine = engine
        self.run_id: int | None = ALL_RUNS
        self._seen = 0  # the highest revision of deployments read (appupdater/store/revisions.py)
        self._polling = False
        self._ticks = 0
        self._detail_stamp: tuple | None = None  # (deployment, revision) the details show
        self._generation = 0  # bumped when the shown run changes: late results are dropped
        self.setWindowTitle("Deployment Overview — App Updater")
        self.setWindowIcon(icon("overview"))
        self.setMinimumSize(900, 600)

        self.runs_model = RunsModel(self)
        self.runs_view = QTableView()
        self.runs_view.setAccessibleName("Update runs")
        configure_table(self.runs_view)
        self.runs_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs_view.setModel(self.runs_model)
        self.runs_view.setItemDelegateForColumn(4, StackedBarDelegate(self.runs_view))
        for column, width in enumerate((55, 130, 80, 330, 260)):
            self.runs_view.setColumnWidth(column, width)

        self.state_filter = QComboBox()
        self.state_filter.setAccessibleName("Filter by state")
        self.state_filter.addItem("All states", [])
        self.state_filter.addItem("Needs attention (failed, retrying)", ["failed", "retrying"])
        self.state_filter.addItem(
            "In progress (queued, running, retrying)", ["queued", "running", "retrying"]
        )
        for state in STATES:
            self.state_filter.addItem(state.capitalize(), [state])
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Filter by device or message")
        self.text_filter.setClearButtonEnabled(True)
        self.text_filter.setAccessibleName("Filter deployments")
        self.showing = QLabel()

        self.model = DeploymentsModel(self)
        self.view = QTableView()
        self.view.setAccessibleName("Deployments")
        configure_table(self.view)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setModel(self.model)
        self.view.setItemDelegateForColumn(6, ProgressDelegate(self.view))
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        for column, width in enumerate((120, 50, 170, 110, 105, 90, 110, 120, 120, 120, 65, 120)):
            self.view.setColumnWidth(column, width)

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

        self.indicator = QLabel()
        self.indicator.setAccessibleName("Last refresh")
        self.statusBar().addPermanentWidget(self.indicator)

        filters = QHBoxLayout()
        filters.addWidget(QLabel("State:"))
        filters.addWidget(self.state_filter)
        filters.addWidget(self.text_filter, 1)
        filters.addWidget(self.showing)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addLayout(filters)
        middle_layout.addWidget(self.view)
        details = QSplitter()
        details.addWidget(self.log)
        details.addWidget(self.changes)
        details.setSizes([620, 420])
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.runs_view)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(details)
        self.splitter.setSizes([170, 420, 210])
        self.setCentralWidget(self.splitter)
        self._create_actions()

        self.runs_view.selectionModel().selectionChanged.connect(self._run_selected)
        self.view.selectionModel().selectionChanged.connect(self._deployment_selected)
        self.state_filter.currentIndexChanged.connect(self._filter_changed)
        self.text_filter.textChanged.connect(self._filter_changed)
        self.model.modelReset.connect(self._show_count)
        self.model.rowsInserted.connect(self._show_count)

        self.timer = QTimer(self)
        self.timer.setObjectName("overview-poll")
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        engine.changed.connect(self._engine_changed)
        self._restore_state()
        self._load()

    # -- actions ---------------------------------------------------------------------------

    def _create_actions(self) -> None:
        def action(name, text, slot, shortcut=None, tip=""):
            act = QAction(icon(name), text, self)
            act.triggered.connect(slot)
            act.setStatusTip(tip)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            return act

        self.cancel_action = action(
            "op-removed",
            "&Cancel",
            self.cancel_selected,
            "Ctrl+K",
            "Cancel the selected deployments (running ones are asked to stop)",
        )
        self.retry_action = action(
            "update",
            "&Retry",
            self.retry_selected,
            "Ctrl+R",
            "Queue the selected failed or cancelled deployments again",
        )
        self.now_action = action(
            "deploy-now",
            "Deploy &now",
            self.deploy_now_selected,
            "Ctrl+D",
            "Start the selected scheduled deployments without waiting",
        )
        self.reschedule_action = action(
            "deploy-at",
            "Re&schedule…",
            self.reschedule_selected,
            None,
            "Move the selected deployments to another time",
        )
        self.export_action = action(
            "export",
            "&Export run as CSV…",
            self.export_run,
            "Ctrl+E",
            "One row per device of the selected run",
        )
        toolbar = self.addToolBar("Deployments")
        toolbar.setObjectName("overview-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for act in (self.cancel_action, self.retry_action, self.now_action, self.reschedule_action):
            toolbar.addAction(act)
        toolbar.addSeparator()
        toolbar.addAction(self.export_action)
        self._update_actions()

    def selected_ids(self) -> list[int]:
        rows = {index.row() for index in self.view.selectionModel().selectedRows()}
        return [self.model.row_at(row).id for row in sorted(rows)]

    def _selected_rows(self) -> list[DeploymentRow]:
        rows = {index.row() for index in self.view.selectionModel().selectedRows()}
        return [self.model.row_at(row) for row in sorted(rows)]

    def cancel_selected(self) -> None:
        self._act("cancel", self.engine.cancel)

    def retry_selected(self) -> None:
        self._act("retry", self.engine.retry)

    def deploy_now_selected(self) -> None:
        self._act("deploy now", self.engine.deploy_now)

    def reschedule_selected(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        dialog = RescheduleDialog(len(ids), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            at = dialog.chosen()
            self._act("reschedule", lambda chosen: self.engine.reschedule(chosen, at))

    def _act(self, what: str, act: Callable[[list[int]], object]) -> None:
        """Run an administrator's action on the selected deployments through the engine (in
        the background: the database may be busy), then look again."""
        ids = self.selected_ids()
        if not ids:
            return

        def done(_result: object) -> None:
            self.statusBar().showMessage(f"{what}: done for the selected deployment(s)", 5000)
            self.poll()

        def failed(error: BaseException) -> None:
            QMessageBox.warning(self, "Deployment Overview", f"Could not {what}: {error}")

        self.tasks.submit(lambda: act(ids), done, failed)

    def export_run(self) -> None:
        if self.run_id is None:
            QMessageBox.information(self, "Export", "Select a run to export first.")
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export run as CSV", f"run-{self.run_id}.csv", "CSV (*.csv)"
        )
        if not path:
            return
        run_id = self.run_id
        self.tasks.submit(
            lambda: export_run_csv(run_id, path),
            lambda n: self.statusBar().showMessage(
                f"Exported {n} device(s) of run #{run_id} to {path}", 10_000
            ),
            lambda e: QMessageBox.warning(self, "Export", f"Export failed: {e}"),
        )

    def _update_actions(self) -> None:
        states = {row.state for row in self._selected_rows()}
        self.cancel_action.setEnabled(bool(states & {"scheduled", "queued", "retrying", "running"}))
        self.retry_action.setEnabled(bool(states & {"failed", "cancelled"}))
        self.now_action.setEnabled(bool(states & {"scheduled", "retrying"}))
        self.reschedule_action.setEnabled(bool(states - {"running", "succeeded"}))
        self.export_action.setEnabled(self.run_id is not None)

    # -- polling -------------------------------------------------------------------------------

    def showEvent(self, event) -> None:
        self.timer.start()
        super().showEvent(event)

    def closeEvent(self, event) -> None:
        self.timer.stop()
        settings = QSettings()
        settings.setValue("overview/geometry", self.saveGeometry())
        settings.setValue("overview/splitter", self.splitter.saveState())
        self.tasks.shutdown()
        super().closeEvent(event)

    def _engine_changed(self) -> None:
        if self.isVisible():
            self.poll()

    def _load(self) -> None:
        """Read the shown run's deployments whole (when the run changes)."""
        self._generation += 1
        generation, run_id = self._generation, self.run_id
        self._polling = True

        def work():
            with gc_paused():
                seen = current_revision()  # before the rows: a change in between is read twice
                rows = deployment_rows(run_id)
                counts = counts_of(rows)
                targets = target_summaries(None if run_id is None else [run_id])
                summaries = run_summaries()
            settle()  # the rows live as long as the model: no full GC pass over them
            return summaries, rows, counts, targets, newest_revision(rows, seen)

        def done(result):
            self._polling = False
            if generation != self._generation:
                return
            runs, rows, counts, targets, seen = result
            self.model.load(rows, targets, counts)
            self.runs_model.set_runs(self._counted(runs))
            self._seen = seen
            self._refreshed()

        self.tasks.submit(work, done, self._poll_failed)

    FULL_EVERY = 10  # ticks between full recounts of every run (incremental in between)

    def poll(self) -> None:
        """Ask only for what changed since the last look; update those rows, and the counts of
        the runs they belong to, without re-counting a 100,000-deployment run every second."""
        if self._polling:
            return
        self._polling = True
        self._ticks += 1
        generation, run_id, seen = self._generation, self.run_id, self._seen
        newest_known = max((r.id for r in self.runs_model.items), default=0)
        full = self._ticks % self.FULL_EVERY == 0
        model = self.model
        names = model.device_names

        def work():
            changed = deployment_rows(run_id, seen, names)
            shown = [r for r in changed if run_id is None or r.run == run_id]
            others = sorted({r.run for r in changed if run_id is not None and r.run != run_id})
            if full or newest_run() > newest_known:
                summaries, complete = run_summaries(), True
            else:
                summaries, complete = (run_summaries(others) if others else []), False
            new_in = {r.run for r in shown if not model.knows(r.id)}
            targets = target_summaries(new_in) if new_in else None
            return summaries, complete, shown, targets, newest_revision(changed, seen)

        def done(result):
            self._polling = False
            if generation != self._generation:
                return
            summaries, complete, shown, targets, newest = result
            self.model.apply(shown, targets)
            if complete:
                runs = summaries
            else:
                fresh = {r.id: r for r in summaries}
                runs = [fresh.get(run.id, run) for run in self.runs_model.items]
            self.runs_model.set_runs(self._counted(runs))
            self._seen = newest
            self._refresh_details()
            self._update_actions()
            self._refreshed()

        self.tasks.submit(work, done, self._poll_failed)

    def _counted(self, runs: list[RunSummary]) -> list[RunSummary]:
        """The runs, with the counts of those whose rows the model holds (the shown run, or
        all of them) taken from those rows: counts read in another query, a moment apart,
        could disagree with them, and the bar and status would be off until a recount."""
        held = self.model.counts
        counted = []
        for run in runs:
            if self.run_id is None or run.id == self.run_id:
                counts = {state: n for state, n in held.get(run.id, {}).items() if n}
                # deployments exist only once a run's configuration is applied
                run = replace(run, configured=run.configured or bool(counts), counts=counts)
            counted.append(run)
        return counted

    def _refreshed(self) -> None:
        self.indicator.setStyleSheet("")
        self.indicator.setText(f"Updated {datetime.now().strftime('%H:%M:%S')}")
        self.refreshed.emit()

    def _poll_failed(self, error: BaseException) -> None:
        self._polling = False
        self.indicator.setStyleSheet("color: #c62828; font-weight: bold;")
        self.indicator.setText(f"Cannot read the database: {error} — retrying")

    # -- selection and details -------------------------------------------------------------------

    def show_run(self, run_id: int | None) -> None:
        """Show the deployments of `run_id` (None: all runs), selecting it in the runs list."""
        for row, run in enumerate(self.runs_model.items):
            if run.id == run_id:
                self.runs_view.selectRow(row)
                return
        self.run_id = run_id
        self._load()

    def _run_selected(self) -> None:
        rows = self.runs_view.selectionModel().selectedRows()
        run_id = self.runs_model.items[rows[0].row()].id if rows else ALL_RUNS
        if run_id != self.run_id:
            self.run_id = run_id
            self._load()
        self._update_actions()

    def _deployment_selected(self) -> None:
        self._update_actions()
        self._refresh_details()

    def _refresh_details(self) -> None:
        current = self.view.selectionModel().currentIndex()
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            self.log.clear()
            self.changes.clear()
            return
        row = self.model.row_at((current if current.isValid() else rows[0]).row())
        stamp = (row.id, row.revision)
        if self._detail_stamp == stamp:
            return
        self._detail_stamp = stamp
        deployment_id = row.id
        self.tasks.submit(
            lambda: (events(deployment_id), carried_changes(deployment_id)),
            lambda result: self._show_details(deployment_id, *result),
            lambda error: None,
        )

    def _show_details(self, deployment_id, log, changes) -> None:
        selected = self.selected_ids()
        if deployment_id not in selected:
            return
        self.log.clear()
        for at, level, message in log:
            item = QTreeWidgetItem([at.astimezone().strftime("%Y-%m-%d %H:%M:%S"), level, message])
            item.setToolTip(2, message)
            self.log.addTopLevelItem(item)
        self.log.scrollToBottom()
        self.changes.clear()
        for app, start, end, module_changes in changes:
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

    def _filter_changed(self) -> None:
        self.model.set_filter(set(self.state_filter.currentData()), self.text_filter.text())

    def _show_count(self) -> None:
        self.showing.setText(f"{self.model.rowCount()} of {len(self.model.rows)} deployments")

    def _restore_state(self) -> None:
        settings = QSettings()
        geometry = settings.value("overview/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        splitter = settings.value("overview/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
