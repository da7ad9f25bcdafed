"""The Update wizard: Devices → Deployment → Finalize, then Approve Update."""

from __future__ import annotations

import re

from PySide6.QtCore import SIGNAL, SLOT, QObject, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard

from appupdater.core.catalog import Catalog
from appupdater.core.planning import Plan, Selection
from appupdater.core.words import plural
from appupdater.ui.icons import icon
from appupdater.ui.questions import ask
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.wizard.deployment_page import DeploymentPage
from appupdater.ui.wizard.devices_page import DevicesPage
from appupdater.ui.wizard.finalize_page import FinalizePage
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wizard.words import plan_title

STEP = re.compile(r"^Step \d+ of \d+: ")


class UpdateWizard(QWizard):
    """Walks the administrator through one update of the selected applications.
    Nothing is written to the database before Approve Update is confirmed.

    Given a precomputed `plan` (a rollback or a revert, core/rollback.py), it has no Devices
    page: it starts on the Deployment page with every planned device selected, and Back cannot
    lead to a page that would plan anew."""

    run_created = Signal(int, object)  # run id, core.runs.Applied

    def __init__(
        self,
        selections: list[Selection],
        catalog: Catalog,
        tasks: BackgroundTasks | None = None,
        parent: QWidget | None = None,
        plan: Plan | None = None,
    ) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.tasks = tasks or BackgroundTasks(self)
        self.state = WizardState(list(selections))
        if plan is None:
            self.setWindowTitle(
                "Update applications — " + ", ".join(s.application for s in selections)
            )
        else:
            self.state.set_plan(plan, {device.id for device in plan.devices()})
            self.setWindowTitle(plan_title(plan))
        self.setWindowIcon(icon("appupdater"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveFinishButtonOnEarlyPages, False)
        self.devices_page = DevicesPage(self.state, self.tasks, catalog) if plan is None else None
        self.deployment_page = DeploymentPage(self.state)
        self.finalize_page = FinalizePage(self.state, self.tasks)
        for page in (self.devices_page, self.deployment_page, self.finalize_page):
            if page is not None:
                self.addPage(page)
        self.finalize_page.approved.connect(self.run_created)
        self.currentIdChanged.connect(self._number_page)
        # Cancel asks before it discards the administrator's choices (reject() itself does not:
        # the main window calls it when it closes)
        cancel = self.button(QWizard.WizardButton.CancelButton)
        QObject.disconnect(cancel, SIGNAL("clicked()"), self, SLOT("reject()"))
        cancel.clicked.connect(self.cancel)
        self.setMinimumSize(QSize(900, 600))
        self.resize(1180, 760)

    @classmethod
    def for_plan(
        cls,
        plan: Plan,
        catalog: Catalog,
        tasks: BackgroundTasks | None = None,
        parent: QWidget | None = None,
    ) -> UpdateWizard:
        """The wizard of a precomputed plan (a rollback or a revert), on its Deployment page."""
        selections = [Selection(app.name, version.text) for app, version in plan.selections]
        return cls(selections, catalog, tasks, parent, plan=plan)

    def reject(self) -> None:
        """Cancel, except while the approved run is being recorded (it would be half-done)."""
        if self.finalize_page.recording:
            return
        super().reject()

    def cancel(self) -> bool:
        """Cancel as the administrator asked (Cancel, Esc, the window's close button): with
        choices made, only once they confirm that those go. True when the wizard closed."""
        if self.finalize_page.recording:
            return False
        if self.has_choices() and not self._discard_choices():
            return False
        self.reject()
        return True

    def give_way(self) -> bool:
        """Close for another wizard, unless choices are made in this one (then say so and come
        forward). True when closed."""
        if self.finalize_page.recording or self.has_choices():
            QMessageBox.information(
                self,
                "An update wizard is open",
                f"An update wizard is already open with your choices ({self.windowTitle()}). "
                "Approve or cancel it first, then try again.",
            )
            self.raise_()
            self.activateWindow()
            return False
        self.reject()
        return True

    def has_choices(self) -> bool:
        """Whether the administrator chose something Cancel would discard."""
        left_out, actions = self.state.choices_made()
        return bool(left_out or actions or self.state.strategy_chosen())

    def _discard_choices(self) -> bool:
        """Asks whether the choices made may go; True when they may."""
        left_out, actions = self.state.choices_made()
        made = []
        if left_out:
            made.append(f"left {plural(left_out, 'device')} out of the update")
        if actions:
            made.append(f"chose the deployment of {plural(actions, 'device')}")
        if self.state.strategy_chosen():
            made.append(
                "chose a rollout in waves"
                if self.state.strategy is not None
                else "chose a rollout all at once"
            )
        return ask(
            self,
            "Discard your choices?",
            f"You {', '.join(made[:-1]) + ' and ' if len(made) > 1 else ''}{made[-1]}. "
            "Cancel the update and discard these choices?",
            "",
            "&Discard choices",
            "&Keep editing",
            yes_role=QMessageBox.ButtonRole.DestructiveRole,
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            self.cancel()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.isVisible() and event.spontaneous() and not self.cancel():
            event.ignore()
            return
        super().closeEvent(event)

    def _number_page(self, page_id: int) -> None:
        """ "Step 2 of 3: Deployment" in the page's title."""
        ids = self.pageIds()
        if page_id not in ids:
            return
        page = self.page(page_id)
        title = STEP.sub("", page.title())
        page.setTitle(f"Step {ids.index(page_id) + 1} of {len(ids)}: {title}")
