"""Page 2 — Deployment: per selected device, deploy now, at a time, or not at all."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from appupdater.core.runs import DeviceAction
from appupdater.core.team_settings import default_strategy
from appupdater.core.words import plural
from appupdater.store.models import DeployAction
from appupdater.ui.icons import icon
from appupdater.ui.tables import configure_table
from appupdater.ui.timefmt import (
    from_qdatetime,
    local_text,
    next_full_hour,
    to_qdatetime,
    zone_text,
)
from appupdater.ui.wizard.deployment_editors import ActionDelegate, DateTimeField, DeploymentView
from appupdater.ui.wizard.deployment_model import (
    ACTION_COLUMN,
    ACTIONS,
    PAST_COLOUR,
    PENDING_COLUMN,
    TIME_COLUMN,
    WAVE_COLUMN,
    DeploymentModel,
    updates_text,
)
from appupdater.ui.wizard.deployment_waves import WaveControls
from appupdater.ui.wizard.skipped_list import SkippedList
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wizard.strategy_box import StrategyBox
from appupdater.ui.wizard.summary import summary_html
from appupdater.ui.wizard.words import deploys
from appupdater.ui.wording import ACTION_ICON, ACTION_TEXT

__all__ = [
    "ACTION_COLUMN",
    "PENDING_COLUMN",
    "TIME_COLUMN",
    "WAVE_COLUMN",
    "DeploymentPage",
    "updates_text",
]

TOTAL_LABELS = {
    DeployAction.NOW: "deploy now",
    DeployAction.AT: "at a specified time",
    DeployAction.NONE: "do not deploy",
}


def _verb(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


class DeploymentPage(QWizardPage):
    """The summary of what will be updated, and each device's deployment action."""

    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Deployment")
        self.setSubTitle(
            "Decide for each device whether the update is deployed now, at a specified time, "
            "or not at all (then only its configuration is updated)."
        )
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.pending_label = QLabel()
        self.pending_label.setWordWrap(True)
        self.pending_label.setAccessibleName("Pending deployments of earlier runs")
        self.pending_label.hide()
        self.skipped = SkippedList()

        self.bulk_action = QComboBox()
        self.bulk_action.setAccessibleName("Action for the selected rows")
        for action in ACTIONS:
            self.bulk_action.addItem(icon(ACTION_ICON[action]), ACTION_TEXT[action], action.value)
        self.bulk_action.setCurrentIndex(ACTIONS.index(DeployAction.NOW))
        self.bulk_time = DateTimeField()
        self.bulk_time.setAccessibleName("Time for the selected rows")
        self.bulk_time.setDateTime(to_qdatetime(next_full_hour(state.now())))
        self.bulk_time.setEnabled(False)
        self.apply_button = QPushButton("A&pply to selected rows")
        self.apply_button.setEnabled(False)
        set_label = QLabel("&Set for the selected rows:")
        set_label.setBuddy(self.bulk_action)
        self.strategy_box = StrategyBox()
        self.zone = QLabel(f"Times are in {zone_text()}")
        self.zone.setAccessibleName("Time zone")

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by device, site or application")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter devices")
        filter_label = QLabel("&Filter:")
        filter_label.setBuddy(self.filter_edit)
        self.totals = QLabel()
        self.totals.setAccessibleName("Devices per deployment action")

        self.model = DeploymentModel(state, self)
        self.view = DeploymentView()
        self.view.setAccessibleName("Deployment per device")
        configure_table(self.view)
        self.view.setTabKeyNavigation(False)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 16)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.waves = WaveControls(state, self.model, self.view, self.strategy_box)
        # the team's default (File → Settings); a small read, once per wizard
        state.default_strategy = default_strategy()
        self.strategy_box.set_strategy(state.default_strategy)
        state.set_strategy(state.default_strategy)
        self.strategy_box.changed.connect(self.completeChanged)
        self.strategy_box.changed.connect(self._name_default)  # after the state has it
        self._name_default()
        self.move_button = self.waves.move_button
        self.delegate = ActionDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.model)
        header = self.view.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # plan order until asked
        self.view.setSortingEnabled(True)
        self._size_columns()

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {PAST_COLOUR.name()}; font-weight: bold;")
        self.error.setAccessibleName("Deployment time errors")
        self.error.hide()

        bulk = QHBoxLayout()
        bulk.addWidget(set_label)
        bulk.addWidget(self.bulk_action)
        bulk.addWidget(self.bulk_time)
        bulk.addWidget(self.apply_button)
        bulk.addWidget(self.move_button)
        bulk.addStretch(1)
        tools = QHBoxLayout()
        tools.addWidget(filter_label)
        tools.addWidget(self.filter_edit, 1)
        tools.addSpacing(12)
        tools.addWidget(self.totals)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.skipped)
        layout.addWidget(self.pending_label)
        layout.addWidget(self.strategy_box)
        layout.addLayout(bulk)
        layout.addLayout(tools)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.zone)
        layout.addWidget(self.error)
        chain: list[QWidget] = [
            self.skipped.toggle,
            *self.strategy_box.tab_chain(),
            self.bulk_action,
            self.bulk_time,
            self.apply_button,
            self.move_button,
            self.filter_edit,
            self.view,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

        self._showing = False
        self.clock = QTimer(self)
        self.clock.setObjectName("deployment-time-check")
        self.clock.setInterval(15_000)
        self.clock.timeout.connect(self.validate)
        self.bulk_action.currentIndexChanged.connect(self._bulk_action_changed)
        self.apply_button.clicked.connect(self._apply_to_selected)
        self.filter_edit.textChanged.connect(self.model.set_filter)
        self.model.dataChanged.connect(self._actions_changed)
        self.model.modelReset.connect(self._selection_changed)
        self.model.modelReset.connect(self._update_totals)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)

    # -- QWizardPage -------------------------------------------------------------------------

    def initializePage(self) -> None:
        now = self.state.now()
        if from_qdatetime(self.bulk_time.dateTime()) <= now:  # the wizard stayed open long
            self.bulk_time.setDateTime(to_qdatetime(next_full_hour(now)))
        self.model.reload()
        self.waves.apply_strategy()
        self._name_default()
        self.summary.setText(summary_html(self.state, len(self.model.devices)))
        plan = self.state.plan
        # an ordinary update listed its skipped devices on the Devices page
        self.skipped.set_items(plan.skipped if plan is not None and plan.reason else [])
        self._update_pending()

    def cleanupPage(self) -> None:
        self.clock.stop()

    def showEvent(self, event: QShowEvent) -> None:
        # also when coming Back from Finalize (no initializePage then): a time may have passed
        super().showEvent(event)
        self.clock.start()
        if not self._showing:  # the wizard hides and shows the page again as buttons change
            self._showing = True
            try:
                self.validate()
            finally:
                self._showing = False

    def hideEvent(self, event: QHideEvent) -> None:
        self.clock.stop()
        super().hideEvent(event)

    def isComplete(self) -> bool:
        return (
            bool(self.model.devices)
            and not self.model.past()
            and self.strategy_box.problem() is None
        )

    def validatePage(self) -> bool:
        self.validate()
        return self.isComplete()

    def validate(self) -> None:
        late = self.model.past()
        if late:
            shown = ", ".join(f"{name} ({local_text(at)})" for name, at in late[:3])
            more = f" and {len(late) - 3} more" if len(late) > 3 else ""
            self.error.setText(
                f"The deployment time is in the past for {shown}{more}. Choose a later time."
            )
        self.error.setVisible(bool(late))
        self.completeChanged.emit()

    # -- what the page says --------------------------------------------------------------------

    def _update_pending(self) -> None:
        """What becomes of the selected devices' deployments of earlier runs."""
        plan = self.state.plan
        replaced = stays = running = 0
        selected = self.state.selected
        for device_id, pending in (plan.pending if plan is not None else {}).items():
            if device_id not in selected:
                continue
            if not pending.supersedable:
                running += 1
            elif deploys(self.state.action(device_id).action):
                replaced += 1
            else:
                stays += 1
        parts = []
        if replaced:
            parts.append(
                f"{plural(replaced, 'device')} {_verb(replaced, 'has', 'have')} a pending "
                "deployment in an earlier run; this run's deployment replaces it."
            )
        if stays:
            parts.append(
                f"{plural(stays, 'device')} that {_verb(stays, 'does', 'do')} not deploy "
                f"{_verb(stays, 'keeps its', 'keep their')} pending deployment of an earlier "
                "run; it will push the new configuration too."
            )
        if running:
            parts.append(
                f"{plural(running, 'device')} {_verb(running, 'is', 'are')} deploying now in "
                "an earlier run; this run's deployment follows it."
            )
        self.pending_label.setText(" ".join(parts))
        self.pending_label.setVisible(bool(parts))

    def _update_totals(self) -> None:
        counts = self.state.action_counts()
        text = ", ".join(f"{counts[a.value]} {TOTAL_LABELS[a]}" for a in TOTAL_LABELS)
        if self.model.filtered:
            shown = plural(len(self.model.devices), "device")
            text = f"{text}; the filter shows {len(self.model.rows)} of {shown}"
        self.totals.setText(text)

    # -- reacting ------------------------------------------------------------------------------

    def _actions_changed(self, first: QModelIndex | None = None) -> None:
        if first is not None and first.column() == WAVE_COLUMN:
            return  # only the waves moved
        self.waves.apply_strategy()
        self._name_default()
        self.validate()
        self._update_totals()
        self._update_pending()

    def _name_default(self) -> None:
        """ "Rollout — the team's default" while the box shows the default of File → Settings."""
        default = self.state.default_strategy is not None and not self.state.strategy_chosen()
        self.strategy_box.setTitle("Rollout — the team's default" if default else "Rollout")

    def _bulk_action_changed(self) -> None:
        self.bulk_time.setEnabled(self.bulk_action.currentData() == DeployAction.AT.value)

    def _selection_changed(self) -> None:
        selection = self.view.selectionModel()
        self.apply_button.setEnabled(selection is not None and selection.hasSelection())
        self.waves.selection_changed()

    def _apply_to_selected(self) -> None:
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        chosen = DeployAction(self.bulk_action.currentData())
        at = from_qdatetime(self.bulk_time.dateTime()) if chosen is DeployAction.AT else None
        self.model.set_rows(rows, DeviceAction(chosen, at))

    def _size_columns(self) -> None:
        """Device, site, action and time take what they need; the updates and the pending
        deployment share the rest, so that no column is pushed off a small screen."""
        metrics = self.fontMetrics()
        sample = QComboBox()
        for action in ACTIONS:
            sample.addItem(icon(ACTION_ICON[action]), ACTION_TEXT[action])
        widths = {
            0: metrics.horizontalAdvance("press-000-00") + 16,
            1: metrics.horizontalAdvance("Warehouse North") + 16,
            ACTION_COLUMN: sample.sizeHint().width() + 8,
            WAVE_COLUMN: metrics.horizontalAdvance("1 (canary)") + 44,
            # the editor's width: the text and the calendar button
            TIME_COLUMN: max(
                metrics.horizontalAdvance("2026-12-31 23:59") + 30,
                self.bulk_time.sizeHint().width(),
            ),
        }
        sample.deleteLater()
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(60)
        for column, width in widths.items():
            self.view.setColumnWidth(column, width)
        self.view.shares = {2: 2, PENDING_COLUMN: 3}
        self.view.fit_columns()
