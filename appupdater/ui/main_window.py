"""The main window: applications and devices, and the actions an administrator starts from."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QHideEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QGroupBox,
    QLabel,
    QMainWindow,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from appupdater import desktop, heap
from appupdater.core.catalog import load_catalog
from appupdater.core.inventory import Inventory
from appupdater.core.planning import Plan, Selection
from appupdater.core.runs import Applied
from appupdater.core.words import plural
from appupdater.engine.engine import Engine
from appupdater.store.db import describe
from appupdater.store.models import db
from appupdater.ui.autostart_action import AutostartAction
from appupdater.ui.busy_status import BusyStatus
from appupdater.ui.device_filters import DeviceFilters
from appupdater.ui.fleet_files import FleetFiles
from appupdater.ui.fleet_follower import FleetFollower
from appupdater.ui.fleet_models import (
    LEGEND,
    ApplicationsModel,
    DevicesModel,
    fit_version_columns,
)
from appupdater.ui.icons import icon
from appupdater.ui.main_menus import build_menus
from appupdater.ui.main_state import restore_main_state, save_main_state
from appupdater.ui.tables import configure_table
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.view_keeper import remember, restore
from appupdater.ui.wizard.update_wizard import UpdateWizard

if TYPE_CHECKING:
    from appupdater.ui.overview.window import OverviewWindow

log = logging.getLogger("appupdater.ui")

HINT = "Select one or more applications, then Update applications…"


class MainWindow(QMainWindow):
    """Lists the catalog and the fleet; starts updates, imports and exports."""

    loaded = Signal()
    wizard_closed = Signal()  # its plan (a big load) is let go

    def __init__(
        self, engine: Engine, tasks: BackgroundTasks | None = None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.tasks = tasks or BackgroundTasks(self)
        self.engine = engine
        self.overview: OverviewWindow | None = None  # the Deployment Overview, once opened
        # asked before closing; False keeps the window open (set by the application)
        self.close_guard: Callable[[QCloseEvent], bool] | None = None
        # how long closing waits for background reads (ms; -1: until they end); the application
        # sets 0 when the database does not answer
        self.close_wait_ms = -1
        self.inventory: Inventory | None = None
        self.wizard: UpdateWizard | None = None
        self.setWindowTitle("App Updater")
        self.setWindowIcon(icon("appupdater"))
        self.setMinimumSize(900, 560)

        self.apps_model = ApplicationsModel(self)
        self.apps_view = QTableView()
        self.apps_view.setAccessibleName("Applications")
        configure_table(self.apps_view)
        self.apps_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.apps_view.setModel(self.apps_model)
        self.apps_view.setColumnWidth(0, 135)
        self.apps_view.setColumnWidth(1, 62)
        apps_box = QGroupBox("&Applications")
        apps_layout = QVBoxLayout(apps_box)
        apps_layout.addWidget(self.apps_view)
        self.apps_hint = QLabel(HINT)
        self.apps_hint.setWordWrap(True)
        apps_layout.addWidget(self.apps_hint)

        self.devices_model = DevicesModel(self)
        self.devices_view = QTableView()
        self.devices_view.setAccessibleName("Devices")
        configure_table(self.devices_view)
        self.devices_view.setModel(self.devices_model)
        self.devices_view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.devices_view.setSortingEnabled(True)
        self.filters = DeviceFilters(self.devices_model)
        self.search, self.device_count = self.filters.search, self.filters.count
        devices_box = QGroupBox("&Devices")
        devices_layout = QVBoxLayout(devices_box)
        devices_layout.addWidget(self.filters)
        devices_layout.addWidget(self.devices_view)
        self.legend = QLabel(LEGEND)
        self.legend.setWordWrap(True)
        self.legend.setAccessibleName("Legend")
        devices_layout.addWidget(self.legend)

        self.splitter = QSplitter()
        self.splitter.addWidget(apps_box)
        self.splitter.addWidget(devices_box)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([330, 950])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.splitter)
        self.setCentralWidget(central)

        self.busy = BusyStatus(self, self.tasks)
        self.files = FleetFiles(self)
        self.follower = FleetFollower(self.tasks, self.busy, self)
        self.follower.loaded.connect(self._loaded_inventory)
        self.follower.failed.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.database_label = QLabel()
        self.statusBar().addPermanentWidget(self.database_label)

        self._create_actions()
        self.apps_view.selectionModel().selectionChanged.connect(self._apps_selection_changed)
        self.apps_view.doubleClicked.connect(lambda _: self.update_applications())
        self.devices_view.selectionModel().selectionChanged.connect(self._devices_selection_changed)
        self.devices_model.modelReset.connect(self._devices_selection_changed)
        self.devices_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.devices_view.addAction(self.connection_action)
        self.devices_view.doubleClicked.connect(lambda _: self.show_device_history())
        self._restore_state()
        self.refresh()

    # -- actions ---------------------------------------------------------------------------

    def _create_actions(self) -> None:
        self.update_action = QAction(icon("update"), "&Update applications…", self)
        self.update_action.setShortcut(QKeySequence("Ctrl+U"))
        self.update_action.setStatusTip("Roll out a new version of the selected applications")
        self.update_action.triggered.connect(self.update_applications)
        self.update_action.setEnabled(False)
        self.import_action = QAction(icon("import"), "&Import fleet file…", self)
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        self.import_action.triggered.connect(self.files.import_fleet)
        self.overview_action = QAction(icon("overview"), "Deployment &Overview", self)
        self.overview_action.setShortcut(QKeySequence("Ctrl+O"))
        self.overview_action.setStatusTip("Follow every update run and its deployments")
        self.overview_action.triggered.connect(lambda: self.show_overview())
        self.export_action = QAction(icon("export"), "&Export…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.files.export_fleet)
        self.connection_action = QAction(icon("online"), "Device &connection…", self)
        self.connection_action.setShortcut(QKeySequence("Ctrl+K"))
        self.connection_action.setStatusTip(
            "Endpoint, certificate and token of the selected device's agent"
        )
        self.connection_action.triggered.connect(self.edit_connection)
        self.connection_action.setEnabled(False)
        self.refresh_action = QAction("&Refresh", self)
        self.refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.refresh_action.triggered.connect(self.refresh)
        self.engines_action = QAction("&Engines…", self)
        self.engines_action.setStatusTip("The engines sharing this database and what they run")
        self.engines_action.triggered.connect(self.show_engines)
        self.autostart_action = AutostartAction(self)
        self.about_action = QAction(icon("appupdater"), "&About App Updater", self)
        self.about_action.triggered.connect(self.show_about)
        self.log_folder_action = QAction("Open &log folder", self)
        self.log_folder_action.setStatusTip(
            f"Show the folder of App Updater's log ({desktop.log_dir()})"
        )
        self.log_folder_action.triggered.connect(self.open_log_folder)
        self.about_qt_action = QAction("About &Qt", self)
        self.about_qt_action.triggered.connect(QApplication.aboutQt)
        self.quit_action = QAction(icon("quit"), "&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)

        build_menus(self)

    def _devices_selection_changed(self, *_args: object) -> None:
        self.connection_action.setEnabled(self.selected_device() is not None)

    def selected_device(self) -> tuple[int, str] | None:
        rows = self.devices_view.selectionModel().selectedRows()
        if len(rows) != 1:
            return None
        device = self.devices_model.devices[self.devices_model.rows[rows[0].row()]]
        return device.id, device.name

    def edit_connection(self) -> None:
        from appupdater.ui.connection_dialog import ConnectionDialog

        chosen = self.selected_device()
        if chosen is None:
            return
        dialog = ConnectionDialog(*chosen, parent=self)
        if dialog.exec() == ConnectionDialog.DialogCode.Accepted:
            self.statusBar().showMessage(f"Connection of {chosen[1]} saved", 5000)
            self.engine.probe_now()
            self.refresh()

    def show_device_history(self) -> None:
        """The selected device's configuration history (double-click, Devices → History…)."""
        from appupdater.ui.device_history import open_device_history

        open_device_history(self)

    def open_log_folder(self) -> None:
        folder = desktop.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.statusBar().showMessage(f"No file manager opened; the log is in {folder}", 15_000)

    def show_engines(self) -> None:
        from appupdater.ui.engines_dialog import EnginesDialog

        settings = self.engine.settings
        EnginesDialog(self.engine.instance, settings.stale_after, self.tasks, self).exec()

    def show_about(self) -> None:
        from appupdater.ui.about_dialog import AboutDialog

        AboutDialog(self).exec()

    def selected_applications(self) -> list[str]:
        rows = sorted(index.row() for index in self.apps_view.selectionModel().selectedRows())
        return [self.apps_model.apps[row].name for row in rows]

    def update_applications(self) -> None:
        names = self.selected_applications()
        if not names:  # from the tray, with nothing selected
            self.apps_hint.setText(f"<b>{HINT}</b>")
            self.apps_hint.show()
            self.apps_view.setFocus()
            self.statusBar().showMessage(
                "Select an application first, then choose Update applications…", 15_000
            )
            return
        if self.inventory is None:
            return
        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        self._show_wizard(
            UpdateWizard([Selection(n) for n in names], self.inventory.catalog, self.tasks, self)
        )

    def open_plan_wizard(self, plan: Plan) -> UpdateWizard | None:
        """Open the update wizard on a precomputed plan (a rollback or a revert), on its
        Deployment page; None, saying why, while another wizard holds choices."""
        if self.wizard is not None and not self.wizard.give_way():
            return None
        catalog = self.inventory.catalog if self.inventory is not None else load_catalog()
        return self._show_wizard(UpdateWizard.for_plan(plan, catalog, self.tasks, self))

    def _show_wizard(self, wizard: UpdateWizard) -> UpdateWizard:
        self.wizard = wizard
        wizard.setWindowModality(Qt.WindowModality.NonModal)
        wizard.run_created.connect(self._run_created)
        wizard.finished.connect(self._wizard_closed)
        wizard.show()
        wizard.raise_()
        wizard.activateWindow()
        return wizard

    def refresh(self) -> None:
        """Load the fleet again (F5, after an import or a run), showing that it loads."""
        self.follower.reload()

    # -- background results --------------------------------------------------------------

    def _loaded_inventory(self, inventory: Inventory) -> None:
        """Show a loaded fleet, keeping what was selected and where the views were."""
        apps_kept = remember(self.apps_view, lambda row: self.apps_model.apps[row].name)
        devices_kept = remember(self.devices_view, self._device_key)
        self.inventory = inventory
        heap.settle()
        self.apps_model.set_apps(inventory.apps)
        restore(
            self.apps_view,
            apps_kept,
            lambda: {app.name: row for row, app in enumerate(inventory.apps)},
        )
        names = [a.name for a in inventory.apps]
        new_columns = names != self.devices_model.app_names
        first_load = not self.devices_model.app_names
        self.devices_model.set_devices(names, inventory.devices)
        restore(self.devices_view, devices_kept, self._device_rows)
        if first_load and not self._header_restored:
            for column, width in enumerate((105, 125, 78, 100, 200)):
                self.devices_view.setColumnWidth(column, width)
        if new_columns and (not first_load or not self._header_restored):
            fit_version_columns(self.devices_view, inventory)
        self.database_label.setText(f"Database: {describe(db.obj)}")
        self._apps_selection_changed()
        self.loaded.emit()

    def _run_created(self, run_id: int, applied: Applied) -> None:
        said = (
            f"Update run #{run_id} recorded, awaiting a second person's approval: nothing is "
            "configured or deployed until then"
            if applied.approval == "awaiting"
            else f"Update run #{run_id} approved: "
            f"{plural(applied.configurations_updated, 'configuration')} updated, "
            f"{plural(applied.deployments_created, 'deployment')} created"
        )
        self.statusBar().showMessage(said, 15_000)
        self.engine.wake()
        self.refresh()
        self.show_overview(run_id)

    def show_overview(self, run_id: int | None = None) -> None:
        """Open (or bring forward) the Deployment Overview, on `run_id` when given."""
        from appupdater.ui.overview.window import OverviewWindow

        if self.overview is None:
            self.overview = OverviewWindow(self.engine)
            self.overview.rollback.planned.connect(self.open_plan_wizard)
        if run_id is not None:
            self.overview.show_run(run_id)
        self.overview.show()
        self.overview.raise_()
        self.overview.activateWindow()

    def _wizard_closed(self) -> None:
        if self.wizard is not None:
            self.wizard.deleteLater()
        self.wizard = None
        self.wizard_closed.emit()

    # -- view state ----------------------------------------------------------------------

    def _device_key(self, row: int) -> Hashable:
        return self.devices_model.devices[self.devices_model.rows[row]].id

    def _device_rows(self) -> dict[Hashable, int]:
        devices = self.devices_model.devices
        return {devices[i].id: row for row, i in enumerate(self.devices_model.rows)}

    def _apps_selection_changed(self) -> None:
        names = self.selected_applications()
        self.update_action.setEnabled(bool(names) and self.inventory is not None)
        self.update_action.setText(
            f"&Update {names[0]}…" if len(names) == 1 else "&Update applications…"
        )
        self.apps_hint.setVisible(not names)
        if names:
            self.apps_hint.setText(HINT)

    def _restore_state(self) -> None:
        self._header_restored = restore_main_state(self)

    def save_state(self) -> None:
        save_main_state(self)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.follower.start()
        self.follower.look()

    def hideEvent(self, event: QHideEvent) -> None:
        self.follower.stop()  # a window in the tray reads nothing; it looks again when shown
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.wizard is not None and self.wizard.finalize_page.recording:
            event.ignore()
            return
        if self.close_guard is not None and not self.close_guard(event):
            event.ignore()
            return
        self.save_state()
        self.follower.stop()
        if self.wizard is not None:
            self.wizard.reject()
        if self.overview is not None and self.close_guard is None:
            self.overview.close()  # alone, the main window takes its overview along
        self.tasks.shutdown(self.close_wait_ms)
        super().closeEvent(event)
