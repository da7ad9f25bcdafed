"""Page 3 — Finalize: every pending change, device → application → module, then Approve Update."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from appupdater.core.identity import who
from appupdater.core.planning import ChangeOp, Plan
from appupdater.core.runs import DEPLOY_NOW, Applied, apply_configuration, create_run
from appupdater.core.team_settings import approval_policy
from appupdater.core.words import noun, plural
from appupdater.ui.icons import icon
from appupdater.ui.questions import ask
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.timefmt import local_text
from appupdater.ui.wizard.finalize_figures import FinalizeFigures
from appupdater.ui.wizard.finalize_model import FinalizeModel, strategy_html, wave_sizes
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wizard.words import awaiting_text, hours_text
from appupdater.ui.wording import OP_COLOUR

# devices whose module rows open with the page, and at most with "Expand all" at once (more
# rows open as they scroll into view, while expanded is on)
EXPAND_AT_ONCE = 100


class FinalizePage(QWizardPage):
    """The review of every pending change, the totals, and the approval."""

    approved = Signal(int, object)  # run id, Applied

    def __init__(
        self, state: WizardState, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.tasks = tasks
        self.run_id: int | None = None
        self._recording = False
        self.setTitle("Finalize")
        self.setSubTitle(
            "All pending updates, per device. Review the module changes, then click Approve Update."
        )
        self.setFinalPage(True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Approve Update")

        self.note_icon = QLabel()
        self.note_icon.setPixmap(icon("info").pixmap(20, 20))
        self.note = QLabel()
        self.note.setWordWrap(True)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note_icon, 0, Qt.AlignmentFlag.AlignTop)
        note_row.addWidget(self.note, 1)
        self.totals = QLabel()
        self.totals.setAccessibleName("Totals")
        self.totals.setWordWrap(True)
        self.totals.setTextFormat(Qt.TextFormat.RichText)
        self.strategy_label = QLabel()
        self.strategy_label.setAccessibleName("Rollout")
        self.strategy_label.setWordWrap(True)
        self.strategy_label.setTextFormat(Qt.TextFormat.RichText)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search devices or sites")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search devices")
        self.search.textChanged.connect(self._search_changed)
        self.expand_button = QPushButton("&Expand all")
        self.expand_button.clicked.connect(lambda: self.set_expanded(True))
        self.collapse_button = QPushButton("C&ollapse all")
        self.collapse_button.clicked.connect(lambda: self.set_expanded(False))
        self.shown_label = QLabel()
        tools = QHBoxLayout()
        tools.addWidget(self.search, 1)
        tools.addWidget(self.shown_label)
        tools.addWidget(self.expand_button)
        tools.addWidget(self.collapse_button)

        self.model = FinalizeModel(state, self)
        self.figures = FinalizeFigures(state, self.model)
        self.view = QTreeView()
        self.view.setAccessibleName("Pending updates")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setTabKeyNavigation(False)
        header = self.view.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((280, 110, 90, 90)):
            self.view.setColumnWidth(column, width)
        self.expanded = False  # "Expand all": rows fetched later open too
        self.model.rowsInserted.connect(self._fetched)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(note_row)
        layout.addWidget(self.totals)
        layout.addWidget(self.strategy_label)
        layout.addLayout(tools)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)

    def initializePage(self) -> None:
        self.model.reload()
        counts = self.counts()
        devices = f"<b>{plural(counts['devices'], 'device')}</b>"
        reason = self.reason()
        self.totals.setText(
            (f"<b>{reason}</b> on {devices}" if reason else devices)
            + f": <b>{counts['now']:,}</b> deploy now, "
            f"<b>{counts['at']:,}</b> scheduled, <b>{counts['none']:,}</b> configuration only. "
            f"Modules: <span style='color:{OP_COLOUR[ChangeOp.ADDED].name()}'>"
            f"<b>{counts['added']:,}</b> added</span>, "
            f"<span style='color:{OP_COLOUR[ChangeOp.REMOVED].name()}'>"
            f"<b>{counts['removed']:,}</b> removed</span>, "
            f"<span style='color:{OP_COLOUR[ChangeOp.MODIFIED].name()}'>"
            f"<b>{counts['modified']:,}</b> modified</span>."
        )
        self.strategy_label.setText(strategy_html(self.state))
        notes = []
        if self.figures.skips_versions():
            notes.append(
                "Some devices skip one or more versions. Skipping several versions can add or "
                "remove modules: review the Added and Removed modules below."
            )
        differ = self.figures.devices_that_differ()
        if differ:
            notes.append(
                f"{plural(differ, 'device')} {noun(differ, 'runs', 'run')} an earlier version "
                "than its configuration: for devices that are deployed, the modules shown are "
                "what the deployment changes on the device, from the version it runs."
            )
        along = self.figures.along_text()
        if along:
            notes.append(
                f"{along}: a deployment pushes the device's whole configuration. They are listed "
                "under those devices, marked “also pushed”, and counted in the modules above."
            )
        self.note.setText("\n".join(notes))
        self.note.setVisible(bool(notes))
        self.note_icon.setVisible(bool(notes))
        self._show_count()
        self.set_expanded(len(self.model.devices) <= EXPAND_AT_ONCE, first=10)

    def cleanupPage(self) -> None:
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.model.search = ""

    # -- browsing ------------------------------------------------------------------------------

    def _search_changed(self, text: str) -> None:
        self.model.set_search(text)
        self._show_count()
        self.set_expanded(self.expanded or len(self.model.devices) <= EXPAND_AT_ONCE, first=10)

    def _show_count(self) -> None:
        shown, total = len(self.model.devices), len(self.state.selected_devices())
        self.shown_label.setText(
            f"{shown:,} of {plural(total, 'device')}" if shown != total else ""
        )
        self.shown_label.setVisible(shown != total)

    def set_expanded(self, expanded: bool, first: int = 0) -> None:
        """Open (or close) every device's rows, as far as they are fetched; with `first`, when
        not expanding all, open only that many devices."""
        self.expanded = expanded
        if not expanded:
            self.view.collapseAll()
        count = self.model.shown if expanded else min(first, self.model.shown)
        self._expand_rows(0, count)

    def _fetched(self, parent, first: int, last: int) -> None:
        if self.expanded and not parent.isValid():
            self._expand_rows(first, last + 1)

    def _expand_rows(self, start: int, end: int) -> None:
        model, view = self.model, self.view
        for row in range(start, end):
            device = model.index(row, 0)
            view.expand(device)
            for child in range(model.rowCount(device)):
                view.expand(model.index(child, 0, device))

    # -- what is shown -------------------------------------------------------------------------

    def counts(self) -> Counter[str]:
        """Devices per action and module operations, as the tree shows them."""
        return self.figures.counts()

    @property
    def recording(self) -> bool:
        """True while the approved run is being written."""
        return self._recording

    def validatePage(self) -> bool:
        if self.run_id is not None:
            return True
        plan = self.state.plan
        if self._recording or plan is None:
            return False
        while True:  # a time can pass while a question is open: ask until none has
            if not self._settle_passed_times():
                return False
            counts = self.counts()
            policy = approval_policy()
            ending = (
                "A second person must approve this run first: nothing is configured or deployed "
                f"until another user approves it (within {hours_text(policy.expires_after)})."
                "\n\nAsk for approval?"
                if policy.second_approver
                else "Start the update?"
            )
            answer = QMessageBox.question(
                self,
                "Approve Update",
                self._approve_words(counts["devices"]) + "\n"
                f"{plural(counts['now'], 'deployment')} will start {self._start_words()} and "
                f"{counts['at']:,} at their scheduled time; {plural(counts['none'], 'device')} "
                f"{noun(counts['none'], 'gets', 'get')} the configuration only."
                + (f"\n{self.figures.along_text()}." if self.figures.along_text() else "")
                + "\n\n"
                + ending,
                QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Ok:
                return False
            if not self.state.late_times(self.state.now()):
                break
        self._record(plan)
        return False

    def reason(self) -> str | None:
        """What a restoring plan does ("Rollback of run #12", "Revert to revision 3"); None
        for an ordinary update."""
        reason = self.state.plan.reason if self.state.plan is not None else None
        return reason[:1].upper() + reason[1:] if reason else None

    def _approve_words(self, devices: int) -> str:
        reason = self.reason()
        if reason is None:
            return f"The configuration of {plural(devices, 'device')} will be updated."
        return f"{reason}: the configuration of {plural(devices, 'device')} will be restored."

    def _start_words(self) -> str:
        """When the deploy-now devices start: "now", or "in 3 waves, the first of 1 now"."""
        sizes = wave_sizes(self.state)
        if not sizes:
            return "now"
        return f"in {plural(len(sizes), 'wave')}, the first of {sizes[0]:,} now"

    def _settle_passed_times(self) -> bool:
        """Scheduled times that passed while the wizard was open: ask whether to deploy those
        devices now (True, changed) or go back to the Deployment page (False)."""
        late = sorted(self.state.late_times(self.state.now()), key=lambda item: item[1])
        if not late:
            return True
        names = {d.id: d.name for d in self.model.plan.devices()}
        shown = ", ".join(f"{names.get(d, d)} ({local_text(at)})" for d, at in late[:5])
        more = f" and {len(late) - 5:,} more" if len(late) > 5 else ""
        deploy = ask(
            self,
            "Scheduled time passed",
            f"The scheduled time has passed for {plural(len(late), 'device')}: {shown}{more}.",
            "Deploy them now, or go back to the Deployment page and choose later times.",
            "Deploy &Now",
            "Go &Back",
            icon=QMessageBox.Icon.Warning,
        )
        if not deploy:
            self.wizard().back()
            return False
        for device_id, _ in late:
            self.state.actions[device_id] = DEPLOY_NOW
        self.state.fill_waves()  # they deploy now: in waves, they join one
        self.initializePage()
        return True

    def _record(self, plan: Plan) -> None:
        """Record the run and apply its configuration off the GUI thread; close when done."""
        actions = self.state.chosen_actions()
        devices = set(self.state.selected)
        strategy = self.state.strategy
        waves = dict(self.state.waves) if strategy is not None else None

        def work() -> tuple[int, Applied]:
            run_id = create_run(
                plan,
                actions,
                approved_by=who().user,  # off the GUI thread: a query on PostgreSQL
                devices=devices,
                strategy=strategy,
                waves=waves,
            )
            return run_id, apply_configuration(run_id)

        self._recording = True
        self._set_buttons_enabled(False)
        self.busy.show()
        self.message.setText("Recording the update and updating device configurations…")
        self.message.show()
        self.tasks.submit(work, self._recorded, self._record_failed)

    def _recorded(self, result: tuple[int, Applied]) -> None:
        self._recording = False
        self.run_id, applied = result
        self.busy.hide()
        if applied.approval:
            QMessageBox.information(self, "Approve Update", awaiting_text(self.run_id))
        self.approved.emit(self.run_id, applied)
        self.wizard().accept()

    def _record_failed(self, error: BaseException) -> None:
        self._recording = False
        self.busy.hide()
        self._set_buttons_enabled(True)
        self.message.setText(f"The update was not recorded: {error}")
        QMessageBox.warning(self, "Approve Update", f"The update was not recorded.\n\n{error}")

    def _set_buttons_enabled(self, enabled: bool) -> None:
        wizard = self.wizard()
        for button in (
            QWizard.WizardButton.BackButton,
            QWizard.WizardButton.FinishButton,
            QWizard.WizardButton.CancelButton,
        ):
            wizard.button(button).setEnabled(enabled)
