"""The Deployment Overview window: follows every run by polling the database. What it reads
and when is the feed's (feed.py); the window draws it and turns clicks into engine actions."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QByteArray, QSettings, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.carried import CarriedChange, carried_changes
from appupdater.core.overview import DeploymentRow, RunSummary, events
from appupdater.core.run_list import RunFilter
from appupdater.core.words import plural
from appupdater.engine.engine import Engine
from appupdater.store.models import DeploymentState as S
from appupdater.ui.icons import icon
from appupdater.ui.overview.acting import DeploymentActions
from appupdater.ui.overview.approval_acting import ApprovalActions
from appupdater.ui.overview.delegates import ProgressDelegate, StackedBarDelegate, WholeTextTip
from appupdater.ui.overview.details import DeploymentDetails
from appupdater.ui.overview.feed import ALL_RUNS, ChangesRead, OverviewFeed, WholeRead
from appupdater.ui.overview.models import DeploymentsModel, RunsModel
from appupdater.ui.overview.rollback_acting import RollbackActions
from appupdater.ui.overview.run_acting import RunActions
from appupdater.ui.overview.run_filter import RunFilterBar
from appupdater.ui.overview.style import STATES
from appupdater.ui.overview.wave_filter import WaveFilter
from appupdater.ui.tables import configure_table
from appupdater.ui.tasks import BackgroundTasks


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
        self.tasks = tasks or BackgroundTasks(self, threads=1)
        self.engine = engine
        self.feed = OverviewFeed()
        self._data_from: datetime | None = None  # when the data shown was read
        self._detail_stamp: tuple[int, int] | None = None  # (deployment, revision) shown below
        self.setWindowTitle("Deployment Overview — App Updater")
        self.setWindowIcon(icon("overview"))
        self.setMinimumSize(900, 600)

        self.runs_model = RunsModel(self)
        self.runs_view = QTableView()
        self.runs_view.setAccessibleName("Update runs")
        configure_table(self.runs_view)
        self.runs_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs_view.setModel(self.runs_model)
        self.runs_view.setItemDelegate(WholeTextTip(self.runs_view))
        self.runs_view.setItemDelegateForColumn(4, StackedBarDelegate(self.runs_view))
        for column, width in enumerate((55, 130, 80, 200, 230, 360)):
            self.runs_view.setColumnWidth(column, width)
        # the applications take what is left: a status ("paused: 2 of 5 failed in wave 1, limit
        # 10 %") stays whole down to the smallest window
        runs_header = self.runs_view.horizontalHeader()
        runs_header.setStretchLastSection(False)
        runs_header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

        self.run_filter = RunFilterBar()

        self.state_filter = QComboBox()
        self.state_filter.setAccessibleName("Filter by state")
        self.state_filter.addItem("All states", [])
        for label, states in (
            ("Needs attention (failed, retrying)", [S.FAILED, S.RETRYING]),
            ("In progress (queued, running, retrying)", [S.QUEUED, S.RUNNING, S.RETRYING]),
            *((state.capitalize(), [state]) for state in STATES),
        ):
            self.state_filter.addItem(label, [str(s) for s in states])
        self.wave_filter = WaveFilter()  # for a run in waves only
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Filter by device or message")
        self.text_filter.setClearButtonEnabled(True)
        self.text_filter.setAccessibleName("Filter deployments")
        self.showing = QLabel()

        self.model = DeploymentsModel(self.feed.table, self)
        self.view = QTableView()
        self.view.setAccessibleName("Deployments")
        configure_table(self.view)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setModel(self.model)
        self.view.setItemDelegate(WholeTextTip(self.view))
        self.view.setItemDelegateForColumn(6, ProgressDelegate(self.view))
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        widths = (110, 45, 160, 175, 100, 90, 85, 120, 120, 120, 65, 120, 250, 50)
        for column, width in enumerate(widths):
            self.view.setColumnWidth(column, width)
        self.view.horizontalHeader().moveSection(DeploymentsModel.WAVE, 4)  # beside the action
        self.view.setColumnHidden(DeploymentsModel.WAVE, True)

        self.details = DeploymentDetails()

        self.indicator = QLabel()
        self.indicator.setAccessibleName("Last refresh")
        self.statusBar().addPermanentWidget(self.indicator)

        filters = QHBoxLayout()
        filters.setContentsMargins(4, 0, 4, 0)
        filters.addWidget(QLabel("State:"))
        filters.addWidget(self.state_filter)
        filters.addWidget(self.wave_filter)
        filters.addWidget(self.text_filter, 1)
        filters.addWidget(self.showing)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addLayout(filters)
        middle_layout.addWidget(self.view)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.run_filter)
        top_layout.addWidget(self.runs_view)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.details)
        self.splitter.setSizes([200, 400, 200])
        self.setCentralWidget(self.splitter)
        self.acting = DeploymentActions(self)
        self.run_acting = RunActions(self, self.acting.toolbar)
        self.rollback = RollbackActions(self, self.acting.toolbar)  # planned: the app wires it
        self.approval = ApprovalActions(self, self.acting.toolbar)
        middle_layout.insertWidget(0, self.approval.banner)

        self.runs_view.selectionModel().selectionChanged.connect(self._run_selected)
        self.view.selectionModel().selectionChanged.connect(self._deployment_selected)
        self.state_filter.currentIndexChanged.connect(self._filter_changed)
        self.wave_filter.currentIndexChanged.connect(self._filter_changed)
        self.text_filter.textChanged.connect(self._filter_changed)
        self.run_filter.changed.connect(self._runs_filtered)
        self.model.modelReset.connect(self._show_count)
        self.model.rowsInserted.connect(self._show_count)

        self._poll_again = False  # a poll asked while a read was under way
        self.timer = QTimer(self)
        self.timer.setObjectName("overview-poll")
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        engine.changed.connect(self._engine_changed)
        self._restore_state()
        self._load()

    @property
    def run_id(self) -> int | None:
        """The run shown (None: every run)."""
        return self.feed.run_id

    # -- actions (acting.py) ---------------------------------------------------------------

    @property
    def cancel_action(self) -> QAction:
        return self.acting.cancel

    @property
    def retry_action(self) -> QAction:
        return self.acting.retry

    @property
    def now_action(self) -> QAction:
        return self.acting.deploy_now

    @property
    def reschedule_action(self) -> QAction:
        return self.acting.reschedule

    @property
    def export_action(self) -> QAction:
        return self.acting.export

    def selected_run(self) -> RunSummary | None:
        rows = self.runs_view.selectionModel().selectedRows()
        return self.runs_model.items[rows[0].row()] if rows else None

    def selected_ids(self) -> list[int]:
        return [row.id for row in self.selected_rows()]

    def selected_rows(self) -> list[DeploymentRow]:
        rows = {index.row() for index in self.view.selectionModel().selectedRows()}
        return [self.model.row_at(row) for row in sorted(rows)]

    def _update_actions(self) -> None:
        self.acting.update()
        self.run_acting.update()
        self.rollback.update()
        self.approval.update()

    # -- polling -------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        self.timer.start()
        super().showEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.timer.stop()
        settings = QSettings()
        settings.setValue("overview/geometry", self.saveGeometry())
        settings.setValue("overview/splitter", self.splitter.saveState())
        self.tasks.shutdown()
        super().closeEvent(event)

    def _engine_changed(self) -> None:
        if self.isVisible():
            self.poll()

    def _load(self, run_id: int | None = ALL_RUNS) -> None:
        """Show `run_id`: read its deployments whole. A run opened starts unfiltered by state
        (a filter chosen for another run would hide this one's rows without saying why)."""
        if self.state_filter.currentIndex() > 0 or self.wave_filter.currentIndex() > 0:
            with QSignalBlocker(self.state_filter), QSignalBlocker(self.wave_filter):
                self.state_filter.setCurrentIndex(0)
                self.wave_filter.setCurrentIndex(0)
            self.model.forget_states()  # taken into account by the reload that follows
        self.tasks.submit(self.feed.show(run_id), self._loaded, self._poll_failed)

    def _loaded(self, result: WholeRead) -> None:
        if self.feed.take_whole(result):
            self.model.reload()
            self.view.scrollToTop()  # a run opened starts at its top-left
            self.view.horizontalScrollBar().setValue(0)
            self.view.setColumnHidden(1, self.run_id is not None)  # the run: said above
            self._set_runs()
            self._update_actions()
            self._refreshed()
        self._poll_if_asked()

    def poll(self) -> None:
        """Read what changed since the last look; if a read is under way, once it is done (an
        action's outcome is shown at once, not a tick later)."""
        read = self.feed.changes()
        if read is not None:
            self._poll_again = False
            self.tasks.submit(read, self._polled, self._poll_failed)
        else:
            self._poll_again = True

    def _poll_if_asked(self) -> None:
        if self._poll_again:
            self.poll()

    def _polled(self, result: ChangesRead) -> None:
        moved = self.feed.take_changes(result)
        if moved is not None:
            self.model.rows_changed(*moved)
            self._set_runs()
            self._refresh_details()
            self._update_actions()
            self._refreshed()
        self._poll_if_asked()

    def _set_runs(self) -> None:
        self.runs_model.set_runs(self.feed.runs, self.feed.standings)
        self.model.set_paused({r for r, s in self.feed.standings.items() if s.paused})
        self.run_filter.show_count(len(self.feed.runs))
        self._mark_shown_run()
        self._show_waves()

    def _show_waves(self) -> None:
        """The Wave column and the wave filter, for a run in waves only."""
        standing = self.feed.standings.get(self.run_id) if self.run_id is not None else None
        total = standing.waves.total if standing is not None and standing.waves else 0
        self.view.setColumnHidden(DeploymentsModel.WAVE, not total)
        if self.wave_filter.offer(total):
            self._filter_changed()

    def _refreshed(self) -> None:
        self._data_from = datetime.now()
        self.indicator.setStyleSheet("")
        self.indicator.setToolTip("")
        self.indicator.setText(f"Updated {self._data_from.strftime('%H:%M:%S')}")
        self.refreshed.emit()

    def _poll_failed(self, error: BaseException) -> None:
        """Say that the data shown is getting old, and why; the next refresh that works clears
        it (the timer keeps trying)."""
        self.feed.read_failed()
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if len(reason) > 90:
            reason = reason[:89] + "…"
        shown = (
            f"showing data from {self._data_from.strftime('%H:%M:%S')}"
            if self._data_from
            else "nothing read yet"
        )
        now = datetime.now().strftime("%H:%M:%S")
        self.indicator.setStyleSheet("color: #c62828; font-weight: bold;")
        self.indicator.setText(f"Could not refresh at {now}: {reason}; {shown}")
        self.indicator.setToolTip(f"{error}\n\nApp Updater tries again every few seconds.")

    # -- selection and details -------------------------------------------------------------------

    def show_run(self, run_id: int | None) -> None:
        """Show the deployments of `run_id` (None: all runs), selecting it in the runs list."""
        for row, run in enumerate(self.runs_model.items):
            if run.id == run_id:
                self.runs_view.selectRow(row)
                return
        self._load(run_id)

    def _mark_shown_run(self) -> None:
        """Select the shown run in the runs list when it was opened before the list had it
        (right after Approve Update), so that the list says which run is below."""
        if self.run_id is None or self.runs_view.selectionModel().hasSelection():
            return
        for row, run in enumerate(self.runs_model.items):
            if run.id == self.run_id:
                self.runs_view.selectRow(row)  # the same run: nothing read again
                return

    def _run_selected(self) -> None:
        rows = self.runs_view.selectionModel().selectedRows()
        run_id = self.runs_model.items[rows[0].row()].id if rows else ALL_RUNS
        if run_id != self.run_id:
            self._load(run_id)
        self._update_actions()

    def _deployment_selected(self) -> None:
        self._update_actions()
        self._refresh_details()

    def _refresh_details(self) -> None:
        current = self.view.selectionModel().currentIndex()
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            self.details.clear()
            self._detail_stamp = None  # the same deployment selected again is shown again
            return
        row = self.model.row_at((current if current.isValid() else rows[0]).row())
        stamp = (row.id, row.revision)
        if self._detail_stamp == stamp:
            return
        self._detail_stamp = stamp
        deployment_id = row.id

        def failed(error: BaseException) -> None:
            self._detail_stamp = None  # read again at the next refresh
            self.statusBar().showMessage(f"Cannot read deployment #{deployment_id}: {error}", 5000)

        self.tasks.submit(
            lambda: (events(deployment_id), carried_changes(deployment_id)),
            lambda result: self._show_details(deployment_id, *result),
            failed,
        )

    def _show_details(
        self,
        deployment_id: int,
        log: list[tuple[datetime, str, str]],
        changes: list[CarriedChange],
    ) -> None:
        position = self.feed.table.position_of(deployment_id)
        if position is not None and deployment_id in self.selected_ids():
            self.details.show_deployment(self.feed.table.rows[position], log, changes)

    def _runs_filtered(self, spec: RunFilter) -> None:
        """List the runs `spec` names: read now when their rows are shown, else at the next
        tick (the shown run's rows stay as they are)."""
        read = self.feed.filter_runs(spec)
        if read is not None:
            self.tasks.submit(read, self._loaded, self._poll_failed)
        else:
            self.poll()

    def _filter_changed(self) -> None:
        self.model.set_filter(
            set(self.state_filter.currentData()),
            self.text_filter.text(),
            self.wave_filter.wave(),
        )

    def _show_count(self) -> None:
        text = f"{self.model.rowCount():,} of {len(self.model.rows):,} deployments"
        tip = ""
        listed, held = len(self.feed.runs), len(self.feed.held)
        if self.run_id is None and held < listed:  # ALL_ROWS_LIMIT: the newest runs' only
            newest = "the newest run" if held == 1 else f"the newest {plural(held, 'run')}"
            text += f" of {newest}"
            tip = (
                f"{plural(listed, 'run')} listed; the deployments of {newest} are shown here."
                " Select an older run to see its deployments."
            )
        self.showing.setText(text)
        self.showing.setToolTip(tip)

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
