"""The Deployment page's waves: filling them from the strategy's controls, the Wave column shown
only in waves, and moving the selected devices to another wave (a button's menu, the table's
context menu)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtWidgets import QMenu, QPushButton

from appupdater.store.models import DeployAction
from appupdater.ui.wizard.deployment_editors import DeploymentView
from appupdater.ui.wizard.deployment_model import WAVE_COLUMN, DeploymentModel, wave_text
from appupdater.ui.wizard.state import WizardState
from appupdater.ui.wizard.strategy_box import StrategyBox


class WaveControls(QObject):
    """Keeps the state's waves, the Wave column and the "Move to wave" menus in step."""

    def __init__(
        self,
        state: WizardState,
        model: DeploymentModel,
        view: DeploymentView,
        box: StrategyBox,
    ) -> None:
        super().__init__(view)
        self.state, self.model, self.view, self.box = state, model, view, box
        self.move_button = QPushButton("&Move to wave")
        self.move_button.setToolTip("Put the selected deploy-now devices in another wave.")
        self.move_button.setMenu(QMenu(self.move_button))
        self.move_button.menu().aboutToShow.connect(self._fill_move_menu)
        self.move_button.hide()
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._context_menu)
        view.setColumnHidden(WAVE_COLUMN, True)
        box.changed.connect(self.apply_strategy)

    def apply_strategy(self) -> None:
        """Re-fill the waves from the strategy's controls (and the deploy-now devices)."""
        strategy = self.box.strategy(self.state.action_counts()[DeployAction.NOW.value])
        self.state.set_strategy(strategy)
        waves = strategy is not None
        if self.view.isColumnHidden(WAVE_COLUMN) == waves:
            self.view.setColumnHidden(WAVE_COLUMN, not waves)
            self.view.fit_columns()
        self.move_button.setVisible(waves)
        self.selection_changed()
        counts = [0] * self.state.wave_count()
        for wave in self.state.waves.values():
            counts[wave - 1] += 1
        self.box.show_sizes(counts)
        self.model.waves_changed()

    def selection_changed(self) -> None:
        self.move_button.setEnabled(bool(self._selected_in_waves()))

    def _selected_in_waves(self) -> list[int]:
        """The shown rows selected whose devices are in a wave."""
        selection = self.view.selectionModel()
        if selection is None or self.state.strategy is None:
            return []
        waves = self.state.waves
        rows = {index.row() for index in selection.selectedRows()}
        return sorted(r for r in rows if self.model.device_at(r)[0] in waves)

    def _fill_move_menu(self, menu: QMenu | None = None) -> None:
        menu = menu or self.move_button.menu()
        menu.clear()
        rows = self._selected_in_waves()
        for wave in range(1, self.state.wave_count() + 1):
            action = menu.addAction(wave_text(wave))
            action.triggered.connect(lambda _=False, w=wave: self._move_selected(w))
            action.setEnabled(bool(rows))

    def _move_selected(self, wave: int) -> None:
        self.model.move_rows(self._selected_in_waves(), wave)
        self.apply_strategy()

    def _context_menu(self, position: QPoint) -> None:
        if not self._selected_in_waves():
            return
        menu = QMenu(self.view)
        self._fill_move_menu(menu.addMenu("Move to &wave"))
        menu.exec(self.view.viewport().mapToGlobal(position))
        menu.deleteLater()
