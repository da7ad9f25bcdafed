"""Item models of the overview: runs, and the deployments of the selected run.

The deployments model shows the feed's table (feed.py). It is refreshed with only what changed
(dataChanged for known rows, inserted rows for new ones), never reset by a refresh, so
selection and scroll position stay.
Sorting and filtering happen in the model over row numbers: no proxy over 100,000 rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QColor, QIcon

from appupdater.core.attempts import STOPPING_PREFIX
from appupdater.core.overview import DeploymentRow, RunSummary, parse_time, released_early
from appupdater.core.progress import RunStatus
from appupdater.core.rollout import Standing
from appupdater.store.fields import utcnow
from appupdater.store.models import DeploymentState as S
from appupdater.ui.icons import icon
from appupdater.ui.overview.feed import DeploymentTable
from appupdater.ui.overview.standing import (
    approval_columns,
    open_work,
    status_text,
    unapproved,
)
from appupdater.ui.overview.style import STATE_COLOUR, STATE_ICON
from appupdater.ui.overview.wave_filter import NO_WAVE
from appupdater.ui.tables import ListTableModel, ModelIndex
from appupdater.ui.timefmt import local_text, local_times_in, short_local_text
from appupdater.ui.wording import ACTION_SHORT

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1  # int 0-100 for the progress delegate
COUNTS_ROLE = Qt.ItemDataRole.UserRole + 2  # dict state -> count for the stacked bar
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison


def applications_text(run: RunSummary) -> str:
    """ "line-monitor → 2.1.0"; a restoring run says what it restores first ("rollback of run
    #12: line-monitor → 2.0.0", the version most of its devices go to)."""
    if not run.reason:
        return run.applications
    return f"{run.reason}: {run.applications}"


class RunsModel(ListTableModel[RunSummary]):
    """The runs, newest first, with their progress and status."""

    HEADERS = ("Run", "Approved", "By", "Applications", "Progress", "Status")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.standings: dict[int, Standing] = {}  # runs in waves, paused or aborted

    def standing_of(self, run_id: int) -> Standing | None:
        return self.standings.get(run_id)

    def set_runs(
        self, runs: list[RunSummary], standings: dict[int, Standing] | None = None
    ) -> None:
        """Update in place when the same runs are shown (keeps the selection), else reset."""
        self.standings = standings or {}
        if [r.id for r in runs] == [r.id for r in self.items]:
            self.items = runs
            if runs:
                self.dataChanged.emit(self.index(0, 0), self.index(len(runs) - 1, 5))
            return
        self.beginResetModel()
        self.items = runs
        self.endResetModel()

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not self.valid_row(index):
            return None
        run = self.items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 4:
                done = sum(n for state, n in run.counts.items() if S(state).is_final)
                return f"{done} of {run.total} done" if run.total else "no deployments"
            approved_at, approved_by = approval_columns(
                run.approved_at, run.approved_by, self.standings.get(run.id)
            )
            return (
                f"#{run.id}",
                local_text(approved_at) if approved_at else "—",
                approved_by,
                applications_text(run),
                None,
                status_text(run.status, self.standings.get(run.id)),
            )[column]
        if role == COUNTS_ROLE and column == 4:
            return run.counts
        if role == Qt.ItemDataRole.ToolTipRole and column == 4:
            return ", ".join(f"{n} {s}" for s, n in sorted(run.counts.items())) or "no deployments"
        if role == Qt.ItemDataRole.ForegroundRole and column == 5:
            standing = self.standings.get(run.id)
            if unapproved(
                standing
            ):  # awaiting: as a scheduled one; rejected, expired: as cancelled
                awaiting = "awaiting approval" in status_text(run.status, standing)
                return STATE_COLOUR[S.SCHEDULED if awaiting else S.CANCELLED]
            if standing is not None and standing.aborted:
                return STATE_COLOUR[S.CANCELLED]
            if standing is not None and standing.paused and open_work(run.status):
                return STATE_COLOUR[S.RETRYING]
            if run.status is RunStatus.COMPLETED_WITH_FAILURES:
                return STATE_COLOUR[S.FAILED]
            if run.status is RunStatus.COMPLETED:
                return STATE_COLOUR[S.SUCCEEDED]
        return None


PAUSED_WAITING = (S.QUEUED, S.SCHEDULED, S.RETRYING)  # what a paused run holds (held says so)


class DeploymentsModel(ListTableModel[DeploymentRow]):
    """The deployments of the feed's table, filtered and sorted over row numbers."""

    HEADERS = (
        "Device",
        "Run",
        "Applications",
        "Action",
        "State",
        "Phase",
        "Progress",
        "Scheduled",
        "Started",
        "Finished",
        "Attempts",
        "Next attempt",
        "Last message",
        "Wave",  # shown for runs in waves only, beside the action (window.py)
    )
    WAVE = 13
    NEXT_ATTEMPT = 11
    MESSAGE = 12
    PAUSED = "the run is paused: it waits until the run is resumed"

    def __init__(self, table: DeploymentTable, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.table = table
        self.visible: list[int] = []  # positions in the table, in display order
        self._shown_at: dict[int, int] = {}  # position in the table -> display row
        self._states: set[str] = set()
        self._text = ""
        self._wave: int | None = None  # the wave filter (None: all waves)
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self.paused: set[int] = set()  # runs paused: their waiting rows start nothing

    def set_paused(self, runs: set[int]) -> None:
        """The paused runs changed: their waiting rows say they wait for the resume."""
        if runs != self.paused:
            self.paused = runs
            if self.visible:
                last = self.index(len(self.visible) - 1, self.MESSAGE)
                self.dataChanged.emit(self.index(0, self.NEXT_ATTEMPT), last)

    @property
    def rows(self) -> list[DeploymentRow]:
        """Every deployment held (shown or filtered out), by position."""
        return self.table.rows

    # -- following the table ----------------------------------------------------------------

    def reload(self) -> None:
        """The table was loaded whole."""
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def rows_changed(self, touched: list[int], arrived: list[int]) -> None:
        """Rows of the table at positions `touched` changed, those at `arrived` are new."""
        last_column = len(self.HEADERS) - 1
        shown = [self._shown_at[p] for p in touched if p in self._shown_at]
        if shown:
            # one signal for the span: views repaint only what is on screen
            self.dataChanged.emit(self.index(min(shown), 0), self.index(max(shown), last_column))
        new = [p for p in arrived if self._passes(self.rows[p])]
        if new:
            start = len(self.visible)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            for offset, position in enumerate(new):
                self._shown_at[position] = start + offset
            self.visible.extend(new)
            self.endInsertRows()

    # -- Qt model interface -----------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.visible)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # Called for about seven roles of every cell painted: most roles end at the first
        # lookup, before the index is looked at.
        answer = self._answers.get(role)
        if answer is None:
            return None
        row = index.row()
        if not 0 <= row < len(self.visible):  # an invalid index has row -1
            return None
        return answer(self, self.table.rows[self.visible[row]], index.column())

    def _progress(self, row: DeploymentRow, column: int) -> int | None:
        return row.progress if column == 6 and row.state == S.RUNNING else None

    def _decoration(self, row: DeploymentRow, column: int) -> QIcon | None:
        return icon(STATE_ICON.get(row.state, "info")) if column == 4 else None

    def _foreground(self, row: DeploymentRow, column: int) -> QColor | None:
        return STATE_COLOUR.get(row.state) if column == 4 else None

    def _tooltip(self, row: DeploymentRow, column: int) -> str | None:
        if column == 12:
            return local_times_in(row.message) if row.message else None
        if column in (3, 7):
            was = self._released_early(row)
            if was is not None:
                return f"Was scheduled for {local_text(was)}; deployed now instead."
        return None

    def _alignment(self, row: DeploymentRow, column: int) -> int | None:
        return RIGHT if column in (1, 10, 13) else None

    # role -> what answers it for (model, row, column)
    _answers: ClassVar[dict[int, Callable[[DeploymentsModel, DeploymentRow, int], object]]] = {
        Qt.ItemDataRole.DisplayRole: lambda self, row, column: self._text_of(row, column),
        PROGRESS_ROLE: _progress,
        Qt.ItemDataRole.DecorationRole: _decoration,
        Qt.ItemDataRole.ForegroundRole: _foreground,
        Qt.ItemDataRole.ToolTipRole: _tooltip,
        Qt.ItemDataRole.TextAlignmentRole: _alignment,
    }

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        ids = [self.rows[self.visible[i.row()]].id if i.isValid() else None for i in before]
        self._apply_sort()
        self._index_shown()
        after = []
        for index, deployment_id in zip(before, ids, strict=True):
            position = self.table.position_of(deployment_id) if deployment_id is not None else None
            shown = self._shown_at.get(position) if position is not None else None
            after.append(QModelIndex() if shown is None else self.index(shown, index.column()))
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    # -- what the window asks -----------------------------------------------------------------

    def set_filter(self, states: set[str], text: str, wave: int | None = None) -> None:
        """Show the rows in `states` (all for none) whose device or message has `text`, of
        `wave` (None: every wave; NO_WAVE: devices in none)."""
        self.beginResetModel()
        self._states = set(states)
        self._text = text.strip().lower()
        self._wave = wave
        self._rebuild()
        self.endResetModel()

    def forget_states(self) -> None:
        """Drop the state and wave filters without rebuilding: for a reload that comes next."""
        self._states = set()
        self._wave = None

    def state_of(self, deployment_id: int) -> str | None:
        position = self.table.position_of(deployment_id)
        return None if position is None else self.rows[position].state

    def row_at(self, display_row: int) -> DeploymentRow:
        return self.rows[self.visible[display_row]]

    def display_row_of(self, deployment_id: int) -> int | None:
        position = self.table.position_of(deployment_id)
        return None if position is None else self._shown_at.get(position)

    # -- internals ---------------------------------------------------------------------------

    def _text_of(self, row: DeploymentRow, column: int) -> str:
        if column == 0:
            return row.device
        if column == 1:
            return f"#{row.run}"
        if column == 2:
            return self._target(row)[0]
        if column == 3:
            action = self._target(row)[1]
            was = self._released_early(row)
            if was is not None:
                return f"now, not {short_local_text(was)}"  # the tooltip says it whole
            return ACTION_SHORT.get(action, action)
        if column == 4:
            return row.state
        if column == 5:
            return row.phase or ""
        if column == 6:
            return f"{row.progress} %" if row.state in (S.RUNNING, S.SUCCEEDED) else ""
        if column == 7:
            return local_text(self._scheduled(row))
        if column == 8:
            return local_text(parse_time(row.started_at))
        if column == 9:
            return local_text(parse_time(row.finished_at))
        if column == 10:
            return str(row.attempts)
        if column == 11:
            if (
                row.next_attempt_at
                and row.run in self.paused
                and not row.message.startswith(STOPPING_PREFIX)
            ):
                return "when resumed"
            return local_text(parse_time(row.next_attempt_at))
        if column == 13:
            wave = self.table.wave_of(row)
            return "" if wave is None else str(wave)
        if (
            row.run in self.paused
            and row.state in PAUSED_WAITING
            and not row.message.startswith(STOPPING_PREFIX)  # a brake is not held
        ):
            return f"{local_times_in(row.message)} — {self.PAUSED}".lstrip(" —")
        return local_times_in(row.message)

    def _target(self, row: DeploymentRow) -> tuple[str, str]:
        """(applications text, deployment action) of the row's device in its run."""
        return self.table.targets.get(row.run, {}).get(row.device_id, ("", ""))

    def _released_early(self, row: DeploymentRow) -> datetime | None:
        """The time the row had been scheduled for, if it was deployed before it."""
        if row.scheduled_at is None or row.state == S.SCHEDULED:
            return None  # most rows: no parsing
        return released_early(row, self._target(row)[1], utcnow())

    def _scheduled(self, row: DeploymentRow) -> datetime | None:
        """When the row waits for or started at its time; None once deployed before it (the
        Action column says so): a time that no longer applies is not shown as one."""
        if self._released_early(row) is not None:
            return None
        return parse_time(row.scheduled_at)

    def _passes(self, row: DeploymentRow) -> bool:
        if self._states and row.state not in self._states:
            return False
        if self._wave is not None and (self.table.wave_of(row) or NO_WAVE) != self._wave:
            return False
        return (
            not self._text or self._text in row.device.lower() or self._text in row.message.lower()
        )

    def _rebuild(self) -> None:
        if self._states or self._text or self._wave is not None:
            self.visible = [i for i, row in enumerate(self.rows) if self._passes(row)]
        else:
            self.visible = list(range(len(self.rows)))
        self._apply_sort()
        self._index_shown()

    def _index_shown(self) -> None:
        self._shown_at = dict(zip(self.visible, range(len(self.visible)), strict=True))

    def _apply_sort(self) -> None:
        if self._sort is None or self._sort[0] < 0:
            return  # unsorted: in the order of the deployments' ids
        column, order = self._sort
        rows = self.rows
        if column in (6, 10):

            def key(i: int) -> SupportsRichComparison:
                return rows[i].progress if column == 6 else rows[i].attempts
        elif column == self.WAVE:
            wave_of = self.table.wave_of

            def key(i: int) -> SupportsRichComparison:
                return wave_of(rows[i]) or 0
        elif column in (7, 8, 9, 11):
            attr = {8: "started_at", 9: "finished_at", 11: "next_attempt_at"}.get(column)

            def key(i: int) -> SupportsRichComparison:
                row = rows[i]
                moment = parse_time(getattr(row, attr)) if attr else self._scheduled(row)
                return (moment is not None, moment.timestamp() if moment else 0)
        elif column == 1:

            def key(i: int) -> SupportsRichComparison:
                return rows[i].run
        else:

            def key(i: int) -> SupportsRichComparison:
                return str(self._text_of(rows[i], column)).lower()

        self.visible.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
