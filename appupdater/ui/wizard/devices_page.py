"""Page 1 — Devices: every affected device as a checklist, and each application's target."""

from __future__ import annotations

import itertools

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from appupdater.core.catalog import Catalog
from appupdater.core.planning import (
    Plan,
    Selection,
    plan_update,
)
from appupdater.core.words import plural
from appupdater.heap import settle
from appupdater.ui.tables import configure_table
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.wizard.checklist_models import CHECKED, ChecklistModel, SkippedModel
from appupdater.ui.wizard.state import WizardState


class CheckTableView(QTableView):
    """A table where Space toggles the check of every selected row, wherever the cursor is."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        model = self.model()
        if event.key() == Qt.Key.Key_Space and isinstance(model, ChecklistModel):
            rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
            if not rows and self.currentIndex().isValid():
                rows = [self.currentIndex().row()]
            if rows:
                devices = model.devices_at(rows)
                first = model.index(rows[0], 0)
                checked = first.data(Qt.ItemDataRole.CheckStateRole) == CHECKED
                model.set_checked(devices, not checked)
                event.accept()
                return
        super().keyPressEvent(event)


class DevicesPage(QWizardPage):
    """Which devices are on an earlier version of the selected applications; pick the ones to
    update. Planning runs in the background; choosing another target version re-plans."""

    planned = Signal()

    def __init__(
        self,
        state: WizardState,
        tasks: BackgroundTasks,
        catalog: Catalog,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.tasks = tasks
        self.catalog = catalog
        self._token: int | None = None
        self._initialised = False
        self._total = 0
        self._refocus: QWidget | None = None
        self.setTitle("Devices")
        self.setSubTitle(
            "These devices are configured for, or run, an earlier version of the selected "
            "applications. Choose the ones to update."
        )

        self.targets_box = QGroupBox("Target versions")
        self.targets_form = QFormLayout(self.targets_box)
        self.targets_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.version_combos: dict[str, QComboBox] = {}

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by device, site or application")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter devices")
        filter_label = QLabel("&Filter:")
        filter_label.setBuddy(self.filter_edit)
        # plain buttons: an icon of a ticked box made them look like check boxes
        self.select_all = QPushButton("Select &all")
        self.select_all.setToolTip("Select every device shown (the filter applies)")
        self.select_none = QPushButton("Select n&one")
        self.select_none.setToolTip("Clear the selection of every device shown")
        self.count_label = QLabel()
        self.count_label.setAccessibleName("Selected devices")
        self.pending_label = QLabel()
        self.pending_label.setWordWrap(True)
        self.pending_label.setAccessibleName("Pending deployments of earlier runs")
        self.pending_label.hide()

        self.model = ChecklistModel(state, self)
        self.view = CheckTableView()
        self.view.setAccessibleName("Affected devices")
        configure_table(self.view)
        self.view.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.view.setModel(self.model)
        self.view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        for column, width in enumerate((150, 110, 120, 85, 85, 85, 85)):
            self.view.setColumnWidth(column, width)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.message = QLabel()
        self.message.setWordWrap(True)

        self.skipped_model = SkippedModel(self)
        self.skipped_view = QTableView()
        self.skipped_view.setAccessibleName("Skipped devices")
        configure_table(self.skipped_view)
        self.skipped_view.setTabKeyNavigation(False)
        self.skipped_view.setModel(self.skipped_model)
        for column, width in enumerate((150, 110, 120, 85, 85)):
            self.skipped_view.setColumnWidth(column, width)
        self.skipped_box = QGroupBox()
        skipped_layout = QVBoxLayout(self.skipped_box)
        skipped_layout.addWidget(self.skipped_view)
        self.skipped_box.hide()

        tools = QHBoxLayout()
        tools.addWidget(filter_label)
        tools.addWidget(self.filter_edit, 1)
        tools.addWidget(self.select_all)
        tools.addWidget(self.select_none)
        tools.addSpacing(12)
        tools.addWidget(self.count_label)

        layout = QVBoxLayout(self)
        layout.addWidget(self.targets_box)
        layout.addLayout(tools)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.pending_label)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.skipped_box)

        self.filter_edit.textChanged.connect(self.model.set_filter)
        self.select_all.clicked.connect(
            lambda: self.model.set_checked(self.model.visible_devices(), True)
        )
        self.select_none.clicked.connect(
            lambda: self.model.set_checked(self.model.visible_devices(), False)
        )
        self.model.selection_changed.connect(self._selection_changed)
        self.model.modelReset.connect(self._update_count)
        self.busy.hide()
        self.message.hide()

    # -- QWizardPage -------------------------------------------------------------------------

    def initializePage(self) -> None:
        if self._initialised:
            return
        self._initialised = True
        catalog = self.catalog
        for selection in self.state.selections:
            app = catalog.app(selection.application)
            combo = QComboBox()
            combo.setAccessibleName(f"Target version of {app.name}")
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumWidth(160)
            for info in reversed(app.versions):
                label = f"{info.text} (latest)" if info is app.latest else info.text
                combo.addItem(label, info.text)
            chosen = app.find(selection.version) if selection.version is not None else None
            if chosen is not None:
                combo.setCurrentIndex(combo.findData(chosen.text))
            combo.currentIndexChanged.connect(self._replan)
            self.version_combos[app.name] = combo
            self.targets_form.addRow(f"{app.name}:", combo)
        # the target versions come first, for the keyboard as on screen
        chain: list[QWidget] = [
            *self.version_combos.values(),
            self.filter_edit,
            self.select_all,
            self.select_none,
            self.view,
            self.skipped_view,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)
        self._replan()

    def isComplete(self) -> bool:
        return self.state.plan is not None and self._token is None and bool(self.state.selected)

    def cleanupPage(self) -> None:
        """Going back from page 1 is not possible; nothing to undo."""

    # -- planning ----------------------------------------------------------------------------

    def _selections(self) -> list[Selection]:
        return [Selection(name, combo.currentData()) for name, combo in self.version_combos.items()]

    def _replan(self) -> None:
        if self._token is not None:
            self.tasks.forget(self._token)
        self.state.selections = self._selections()
        previous = self.state.plan
        self._refocus = self.focusWidget()
        selections = list(self.state.selections)
        catalog = self.catalog
        self._set_busy(True, "Planning…")
        self._token = self.tasks.submit(
            lambda: plan_update(selections, catalog),
            lambda plan: self._planned(plan, previous),
            self._failed,
        )
        self.completeChanged.emit()

    def _planned(self, plan: Plan, previous: Plan | None) -> None:
        self._token = None
        affected = {t.device.id for t in plan.targets}
        if previous is None:
            selected = set(affected)
        else:
            # keep what the administrator chose; devices new to the plan start selected
            before = {t.device.id for t in previous.targets}
            selected = (self.state.selected & affected) | (affected - before)
        self.state.set_plan(plan, selected)
        settle()
        self._total = len(affected)
        self.model.set_plan(plan)
        self.skipped_model.set_items(plan.skipped)
        self.skipped_box.setTitle(
            f"Skipped ({len(plan.skipped)}): configured for a version newer than the target"
        )
        self.skipped_box.setVisible(bool(plan.skipped))
        shown_rows = min(len(plan.skipped), 4)
        view = self.skipped_view
        view.setFixedHeight(
            view.horizontalHeader().height()
            + shown_rows * view.verticalHeader().defaultSectionSize()
            + 2 * view.frameWidth()
        )
        if not plan.targets:
            self._set_busy(False, "No device is on an earlier version: there is nothing to update.")
        else:
            self._set_busy(False)
        self._update_count()
        self._update_pending(plan)
        # first focus on the target version; after a change, back on that one (planning
        # disables them, which takes the focus away)
        combos = list(self.version_combos.values())
        refocus = self._refocus if self._refocus in combos else None
        if previous is None and combos:
            refocus = combos[0]
        if refocus is not None:
            refocus.setFocus()
        self.completeChanged.emit()
        self.planned.emit()

    def _failed(self, error: BaseException) -> None:
        self._token = None
        self._set_busy(False, f"Cannot plan the update: {error}")
        self.completeChanged.emit()

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.busy.setVisible(busy)
        self.view.setEnabled(not busy)
        for combo in self.version_combos.values():
            combo.setEnabled(not busy)
        self.message.setText(message)
        self.message.setVisible(bool(message))

    def _selection_changed(self) -> None:
        self._update_count()
        self.completeChanged.emit()

    def _update_count(self) -> None:
        """ "40 of 60 devices selected (52 of 75 rows); the filter shows 12 rows of 8 devices"."""
        model = self.model
        devices = len(self.state.selected)
        text = f"{devices} of {plural(self._total, 'device')} selected"
        if len(model.targets) != self._total:
            text += f" ({model.selected_rows(self._total)} of {plural(len(model.targets), 'row')})"
        if model.filtered:
            shown = len(model.visible_devices())
            text += f"; the filter shows {plural(len(model.rows), 'row')} of " + plural(
                shown, "device"
            )
        self.count_label.setText(text)

    def _update_pending(self, plan: Plan) -> None:
        """Say how many devices have a deployment of an earlier run that has not ended."""
        waiting = sum(1 for p in plan.pending.values() if p.supersedable)
        running = len(plan.pending) - waiting
        parts = []
        if waiting:
            has = "has" if waiting == 1 else "have"
            parts.append(
                f"{plural(waiting, 'device')} {has} a pending deployment of an earlier run "
                "(scheduled, queued or retrying): where this run deploys, its deployment "
                "replaces it."
            )
        if running:
            verb = "is" if running == 1 else "are"
            parts.append(
                f"{plural(running, 'device')} {verb} deploying now in an earlier run: this "
                "run's deployment follows it."
            )
        self.pending_label.setText(" ".join(parts))
        self.pending_label.setVisible(bool(parts))
