"""The Update wizard: Devices → Deployment → Finalize, then Approve Update."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QWidget, QWizard

from appupdater.core.catalog import Catalog
from appupdater.core.planning import Selection
from appupdater.ui.icons import icon
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.wizard.deployment_page import DeploymentPage
from appupdater.ui.wizard.devices_page import DevicesPage
from appupdater.ui.wizard.finalize_page import FinalizePage
from appupdater.ui.wizard.state import WizardState


class UpdateWizard(QWizard):
    """Walks the administrator through one update of the selected applications.
    Nothing is written to the database before Approve Update is confirmed."""

    run_created = Signal(int, object)  # run id, core.runs.Applied

    def __init__(
        self,
        selections: list[Selection],
        catalog: Catalog,
        tasks: BackgroundTasks | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.tasks = tasks or BackgroundTasks(self)
        self.state = WizardState(list(selections))
        self.setWindowTitle("Update applications — " + ", ".join(s.application for s in selections))
        self.setWindowIcon(icon("appupdater"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveFinishButtonOnEarlyPages, False)
        self.devices_page = DevicesPage(self.state, self.tasks, catalog)
        self.deployment_page = DeploymentPage(self.state)
        self.finalize_page = FinalizePage(self.state, self.tasks)
        for page in (self.devices_page, self.deployment_page, self.finalize_page):
            self.addPage(page)
        self.finalize_page.approved.connect(self.run_created)
        self.setMinimumSize(QSize(900, 600))
        self.resize(1180, 760)

    def reject(self) -> None:
        """Cancel, except while the approved run is being recorded (it would be half-done)."""
        if self.finalize_page.recording:
            return
        super().reject()
