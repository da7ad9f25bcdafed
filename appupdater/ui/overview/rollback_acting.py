"""Roll back run… and Roll back these deployments… in the overview: plan the rollback off the
GUI thread (core/rollback.py), then hand the plan on (`planned`; the main window opens the
update wizard on it). A plan with no device to roll back says why instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox, QToolBar, QToolButton

from appupdater.core.planning import Plan
from appupdater.core.rollback import plan_rollback
from appupdater.core.words import plural
from appupdater.errors import PlanError
from appupdater.ui.icons import icon

if TYPE_CHECKING:
    from appupdater.ui.overview.window import OverviewWindow

REASONS_SHOWN = 8

RUN_TIP = "Set the devices the selected run changed back to their configuration before it"
DEPLOYMENTS_TIP = "Set the selected deployments' devices back to their configuration before the run"


class RollbackActions(QObject):
    """The two rollback actions, in the menu of the overview toolbar's Roll back button."""

    planned = Signal(object)  # core.planning.Plan with devices to roll back

    def __init__(self, window: OverviewWindow, toolbar: QToolBar):
        super().__init__(window)
        self.planning = False
        self.run = self._action("Roll &back run…", self.roll_back_run)
        self.deployments = self._action("Roll back &these deployments…", self.roll_back_selected)
        # one toolbar button opening both (the toolbar is full): "Roll back ▾"
        self.menu = QMenu(window)
        self.menu.addAction(self.run)
        self.menu.addAction(self.deployments)
        self.button_action = QAction(icon("rollback"), "Roll bac&k", window)
        self.button_action.setMenu(self.menu)
        self._tip(self.button_action, "Roll back the selected run, or the selected deployments")
        toolbar.addSeparator()
        toolbar.addAction(self.button_action)
        button = toolbar.widgetForAction(self.button_action)
        if isinstance(button, QToolButton):
            button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._context_menus()
        self.update()

    def _context_menus(self) -> None:
        """The toolbar's actions on right-click too, each table its own (a narrow window
        folds the end of the toolbar away)."""
        window = self.window
        acting, run_acting = window.acting, window.run_acting
        for view, actions in (
            (
                window.runs_view,
                (run_acting.pause, run_acting.resume, run_acting.next_wave, run_acting.abort),
            ),
            (
                window.view,
                (acting.cancel, acting.retry, acting.deploy_now, acting.reschedule),
            ),
        ):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            view.addActions(list(actions))
            separator = QAction(view)
            separator.setSeparator(True)
            view.addAction(separator)
        window.runs_view.addAction(self.run)
        window.view.addAction(self.deployments)

    @property
    def window(self) -> OverviewWindow:
        return cast("OverviewWindow", self.parent())

    def _action(self, text: str, slot: Callable[[], object]) -> QAction:
        act = QAction(icon("rollback"), text, self.window)
        act.triggered.connect(slot)
        return act

    def _configured(self, run_id: int) -> bool | None:
        """Whether the run (as last read) has its configuration applied; None: not listed."""
        for run in self.window.runs_model.items:
            if run.id == run_id:
                return run.configured
        return None

    def _selected_run_of_rows(self) -> int | None:
        """The one run of the selected deployments (None: none selected, or several runs)."""
        runs = {row.run for row in self.window.selected_rows()}
        return runs.pop() if len(runs) == 1 else None

    def update(self) -> None:
        """Offered on a run whose configuration is applied, while no rollback is planned."""
        run = self.window.selected_run()
        run_ok = run is not None and run.configured and not self.planning
        self.run.setEnabled(run_ok)
        self.run.setText(f"Roll &back run #{run.id}…" if run is not None else "Roll &back run…")
        tip = RUN_TIP
        if run is not None and not run.configured:
            tip = f"Run #{run.id} has not changed any configuration yet: nothing to roll back"
        self._tip(self.run, tip)
        rows = self.window.selected_rows()
        of = self._selected_run_of_rows()
        self.deployments.setEnabled(
            of is not None and bool(self._configured(of)) and not self.planning
        )
        self.deployments.setText(
            "Roll back this &deployment…"
            if len(rows) == 1
            else f"Roll back &these {len(rows)} deployments…"
            if rows
            else "Roll back &these deployments…"
        )
        tip = DEPLOYMENTS_TIP
        if rows and of is None:
            tip = "The selected deployments belong to several runs: select those of one run"
        self._tip(self.deployments, tip)
        self.button_action.setEnabled(self.run.isEnabled() or self.deployments.isEnabled())

    @staticmethod
    def _tip(act: QAction, tip: str) -> None:
        act.setToolTip(tip)
        act.setStatusTip(tip)

    # -- the actions -----------------------------------------------------------------------

    def roll_back_run(self) -> None:
        run = self.window.selected_run()
        if run is not None:
            self._plan(run.id, None)

    def roll_back_selected(self) -> None:
        run_id = self._selected_run_of_rows()
        if run_id is not None:
            self._plan(run_id, sorted({row.device_id for row in self.window.selected_rows()}))

    def _plan(self, run_id: int, devices: list[int] | None) -> None:
        """Plan in the background (a big run takes a moment), then hand the plan on."""
        window = self.window
        self.planning = True
        self.update()
        window.statusBar().showMessage(f"Planning the rollback of run #{run_id}…")

        def done(plan: Plan) -> None:
            self._finished()
            if plan.targets:
                window.statusBar().clearMessage()
                self.planned.emit(plan)
            else:
                self._nothing_to_do(run_id, devices, plan)

        def failed(error: BaseException) -> None:
            self._finished()
            window.statusBar().clearMessage()
            if isinstance(error, PlanError):
                text = str(error)
                QMessageBox.information(
                    window, "Roll back run", f"Run #{run_id} cannot be rolled back: {text}."
                )
            else:
                QMessageBox.warning(
                    window,
                    "Roll back run",
                    f"Could not plan the rollback of run #{run_id}: {error}",
                )

        window.tasks.submit(lambda: plan_rollback(run_id, devices), done, failed)

    def _finished(self) -> None:
        self.planning = False
        self.update()

    def _nothing_to_do(self, run_id: int, devices: list[int] | None, plan: Plan) -> None:
        """Every device skipped: say so, with each one's reason."""
        reasons = [f"{s.device.name}: {s.app.name} {s.reason}" for s in plan.skipped]
        shown = reasons[:REASONS_SHOWN]
        if len(reasons) > REASONS_SHOWN:
            shown.append(f"and {len(reasons) - REASONS_SHOWN} more")
        scope = (
            f"None of the {plural(len(devices), 'selected device')} is configured as the run"
            if devices is not None
            else "No device is configured as the run"
        )
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Roll back run",
            f"Nothing of run #{run_id} can be rolled back.",
            QMessageBox.StandardButton.Ok,
            self.window,
        )
        box.setInformativeText(
            f"{scope} left it:\n\n" + "\n".join(shown)
            if shown
            else "The run changed no device's configuration."
        )
        box.exec()
