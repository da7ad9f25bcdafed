"""View → Audit log…: who did what, when, from where, newest first (docs/audit.md).

Every read runs off the GUI thread (its own BackgroundTasks): the first page with the count, the
pages after it as the table scrolls (the model's fetchMore), and, every few seconds while the
window is shown, a look for entries committed since (core/audit_follow.py: ids are not commit
order, so one committed late still arrives, at its place by time, keeping the selection and
what is in view). A read that comes back after the filter changed is dropped (`_generation`)."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from appupdater.core import audit_follow as follow
from appupdater.core import audit_query as q
from appupdater.core.words import plural
from appupdater.store.fields import utcnow
from appupdater.ui.audit_export import export_csv
from appupdater.ui.audit_filters import AuditFilterBar
from appupdater.ui.audit_model import AuditModel
from appupdater.ui.icons import icon
from appupdater.ui.tables import configure_table
from appupdater.ui.tasks import BackgroundTasks

FOLLOW_MS = 3000  # how often an open window looks for new entries
NOTHING_MATCHES = "No audit entries match these filters."
NOTHING_YET = (
    "No audit entries yet.\n\nApprovals, cancels, imports, exports, connection and settings "
    "changes are recorded here, with who made them and from which workstation."
)
FirstPage = tuple[list[q.Entry], int, follow.Following]  # entries, how many match, following


class AuditWindow(QMainWindow):
    """The audit trail in a table, with filters, a count, CSV export and a way to the run."""

    open_run = Signal(int)  # "Open run in overview" on an entry naming that run
    loaded = Signal()  # after each first page is shown (tests and the bench wait on it)
    exported = Signal(str, int)  # path, entries written

    def __init__(
        self,
        parent: QWidget | None = None,
        follow_ms: int = FOLLOW_MS,
        clock: follow.Monotonic = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle("Audit log — App Updater")
        self.setWindowIcon(icon("appupdater"))
        self.setMinimumSize(900, 500)
        self.tasks = BackgroundTasks(self, threads=1)
        self._generation = 0
        self._spec = q.AuditFilter()
        self._clock = clock
        self.following = follow.Following()  # the newest id seen and the gaps below it
        self.total = 0  # entries matching the filter
        self._following = False

        self.filters = AuditFilterBar()
        self.model = AuditModel(self)
        self.view = QTableView()
        self.view.setAccessibleName("Audit entries")
        configure_table(self.view)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setModel(self.model)
        for column, width in enumerate((135, 160, 90, 110, 205, 0, 150)):
            self.view.setColumnWidth(column, width)
        # the note takes what is left, so that the outcome stays in sight at 1024 pixels
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(AuditModel.NOTE, QHeaderView.ResizeMode.Stretch)
        self.empty = QLabel()
        self.empty.setAccessibleName("No entries")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setMargin(40)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty)
        self.count = QLabel("Loading…")
        self.count.setAccessibleName("Entries shown")
        self.statusBar().addPermanentWidget(self.count)

        self._create_actions()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.filters)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.follow_timer = QTimer(self)
        self.follow_timer.setObjectName("audit-follow")
        self.follow_timer.setInterval(follow_ms)
        self.follow_timer.timeout.connect(self._look_for_new)

        self.filters.changed.connect(self.reload)
        self.model.more_wanted.connect(self._read_more)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)
        self.view.doubleClicked.connect(self._double_clicked)
        self.refresh()

    def _create_actions(self) -> None:
        toolbar = self.addToolBar("Audit log")
        toolbar.setObjectName("audit-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.refresh_action = QAction("&Refresh", self)
        self.refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.refresh_action.setStatusTip("Read the audit log again")
        self.refresh_action.triggered.connect(self.refresh)
        self.export_action = QAction(icon("export"), "&Export CSV…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setStatusTip("Write the entries these filters match to a CSV file")
        self.export_action.triggered.connect(lambda: export_csv(self))
        self.open_run_action = QAction(icon("overview"), "&Open run in overview", self)
        self.open_run_action.setShortcut(QKeySequence("Ctrl+O"))
        self.open_run_action.setStatusTip(
            "Show the selected entry's run in the Deployment Overview"
        )
        self.open_run_action.setEnabled(False)
        self.open_run_action.triggered.connect(self._open_selected_run)
        for action in (self.refresh_action, self.export_action, self.open_run_action):
            toolbar.addAction(action)
        close = QAction("&Close", self)
        close.setShortcut(QKeySequence.StandardKey.Close)
        close.triggered.connect(self.close)
        self.addAction(close)

    # -- reading -------------------------------------------------------------------------

    def current_spec(self) -> q.AuditFilter:
        """The filter of the rows shown (a preset's start as of the last read)."""
        return self._spec

    def refresh(self) -> None:
        """Read the filter's entries and the choices of users and actions again."""
        self.reload()
        self.tasks.submit(lambda: (q.users(), q.actions()), self._got_choices, self._failed)

    def reload(self) -> None:
        """Show the first page of what the filters match (the count comes with it)."""
        self._generation += 1
        generation = self._generation
        now = utcnow()
        self.filters.show_period(now)
        self._spec = spec = self.filters.spec(now)
        self.count.setText("Loading…")

        def read() -> FirstPage:
            with follow.snapshot():  # what the next look asks for starts from this page
                return q.entries(spec), q.count(spec), follow.begin(self._clock)

        self.tasks.submit(read, lambda page: self._got_first(generation, page), self._failed)

    def _got_first(self, generation: int, page: FirstPage) -> None:
        if generation != self._generation:
            return
        entries, self.total, self.following = page
        self.model.set_entries(entries, more=len(entries) == q.PAGE)
        self._show_count()
        self.loaded.emit()

    def _read_more(self) -> None:
        if not self.model.items:
            self.model.fetching = False
            return
        generation, spec, after = self._generation, self._spec, self.model.items[-1].key

        def done(entries: list[q.Entry]) -> None:
            if generation == self._generation:
                self.model.append(entries, more=len(entries) == q.PAGE)

        self.tasks.submit(lambda: q.entries(spec, after), done, self._failed)

    def _look_for_new(self) -> None:
        if self._following:  # the last look has not come back yet
            return
        self._following = True
        generation, spec, since = self._generation, self._spec, self.following

        def done(found: follow.Look) -> None:
            self._following = False
            if generation != self._generation:
                return
            if found.many:
                self.refresh()
                return
            self.following = found.following
            if found.entries:
                self._merge(found.entries)
            if found.found:  # a new user or action may have come with them
                self.tasks.submit(lambda: (q.users(), q.actions()), self._got_choices, self._failed)

        def failed(error: BaseException) -> None:
            self._following = False
            self._failed(error)

        self.tasks.submit(lambda: follow.look(spec, since, self._clock), done, failed)

    def _merge(self, entries: list[q.Entry]) -> None:
        """Put entries a look found at their places; what the person looks at stays where it
        is unless the table is scrolled to its top (there the newest entries come into view)."""
        bar = self.view.verticalScrollBar()
        anchor = self.view.indexAt(QPoint(0, 0)) if bar.value() > 0 else QModelIndex()
        kept = self.model.items[anchor.row()].id if anchor.isValid() else None
        offset = self.view.visualRect(anchor).top() if anchor.isValid() else 0
        self.model.merge(entries)
        self.total += len(entries)  # below the rows read too: they come with the next pages
        if kept is not None:
            row = next(r for r, e in enumerate(self.model.items) if e.id == kept)
            if self.view.verticalScrollMode() == QAbstractItemView.ScrollMode.ScrollPerItem:
                bar.setValue(bar.value() + row - anchor.row())
            else:
                position = self.view.verticalHeader().sectionViewportPosition(row)
                bar.setValue(bar.value() + position - offset)
        self._show_count()

    def _got_choices(self, choices: tuple[list[str], list[str]]) -> None:
        self.filters.set_choices(*choices)

    def _failed(self, error: BaseException) -> None:
        self.model.fetching = False
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        self.count.setText("Could not read the audit log")
        self.statusBar().showMessage(f"Could not read the audit log: {reason}", 30_000)

    def _show_count(self) -> None:
        self.count.setText(plural(self.total, "entry", "entries"))
        self.export_action.setEnabled(self.total > 0)
        if self.total:
            self.stack.setCurrentWidget(self.view)
            return
        self.empty.setText(NOTHING_MATCHES if self.filters.filtering() else NOTHING_YET)
        self.stack.setCurrentWidget(self.empty)

    # -- the selected entry ----------------------------------------------------------------

    def selected_entry(self) -> q.Entry | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.items[rows[0].row()] if rows else None

    def _selection_changed(self, *_args: object) -> None:
        entry = self.selected_entry()
        self.open_run_action.setEnabled(entry is not None and entry.run is not None)

    def _open_selected_run(self) -> None:
        entry = self.selected_entry()
        if entry is not None and entry.run is not None:
            self.open_run.emit(entry.run)

    def _double_clicked(self, index: QModelIndex) -> None:
        if self.model.valid_row(index):
            self._open_selected_run()

    # -- shown or not ------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.follow_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.follow_timer.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.follow_timer.stop()
        self.filters.typing.stop()
        self.tasks.shutdown()  # drops the answer of a look in flight: look again when reopened
        self._following = False
        super().closeEvent(event)
