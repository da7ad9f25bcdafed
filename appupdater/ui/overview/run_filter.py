"""The bar above the run list: which runs to list, by time, state and a search, and how many
are listed. Older runs stay one choice away; typing waits for a pause before it asks again."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from appupdater.core.run_list import PERIODS, RunFilter, RunState
from appupdater.core.words import plural

STATE_LABELS = {
    RunState.ANY: "Any state",
    RunState.IN_PROGRESS: "In progress",
    RunState.FINISHED: "Finished",
    RunState.FAILURES: "With failures",
    RunState.PAUSED: "Paused",
    RunState.AWAITING_APPROVAL: "Awaiting approval",
}


class RunFilterBar(QWidget):
    """Emits `changed` with the filter chosen (after a short pause while typing)."""

    changed = Signal(object)  # RunFilter

    TYPING_PAUSE_MS = 300

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.period = QComboBox()
        self.period.setAccessibleName("Runs approved in")
        for label, days in PERIODS:
            self.period.addItem(label, days)
        self.period.setToolTip("Unfinished runs are listed whatever their age")
        self.state = QComboBox()
        self.state.setAccessibleName("Runs in state")
        for state, label in STATE_LABELS.items():
            self.state.addItem(label, state)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search runs: number, approved by, application")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search runs")
        self.count = QLabel()
        self.count.setAccessibleName("Runs listed")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Runs:"))
        layout.addWidget(self.period)
        layout.addWidget(self.state)
        layout.addWidget(self.search, 1)
        layout.addWidget(self.count)

        self._typing = QTimer(self)
        self._typing.setObjectName("run-search-pause")
        self._typing.setSingleShot(True)
        self._typing.setInterval(self.TYPING_PAUSE_MS)
        self._typing.timeout.connect(self._emit)
        self.period.currentIndexChanged.connect(self._emit)
        self.state.currentIndexChanged.connect(self._emit)
        self.search.textChanged.connect(self._typing.start)

    def current(self) -> RunFilter:
        state = RunState(self.state.currentData())
        return RunFilter(self.period.currentData(), state, self.search.text())

    def show_count(self, listed: int) -> None:
        """How many runs are listed; when none, that the filters are why."""
        spec = self.current()
        if listed or (spec.days is None and spec.state == RunState.ANY and not spec.text):
            self.count.setText(f"{plural(listed, 'run')} listed")
        else:
            self.count.setText("No runs match these filters")

    def _emit(self) -> None:
        self._typing.stop()
        self.changed.emit(self.current())
