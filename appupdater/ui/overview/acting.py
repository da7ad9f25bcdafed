"""The overview's actions on the selected deployments (cancel, retry, deploy now, reschedule)
and on the shown run (export): when each is offered, the question asked before acting on
several at once, the work through the engine off the GUI thread, and a sentence with counts
for what happened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QMessageBox,
)

from appupdater.core.actions import CANCELLABLE, DEPLOYABLE_NOW, RESCHEDULABLE, RETRYABLE
from appupdater.core.overview import DeploymentRow, export_run_csv, parse_time
from appupdater.store.models import DeploymentState as S
from appupdater.ui.icons import icon
from appupdater.ui.overview import outcomes
from appupdater.ui.overview.reschedule_dialog import RescheduleDialog
from appupdater.ui.questions import ask
from appupdater.ui.timefmt import local_text

if TYPE_CHECKING:
    from appupdater.ui.overview.window import OverviewWindow

EXPORT_DIR_KEY = "overview/export_dir"


def export_folder() -> Path:
    """Where the CSV dialog starts: the folder of the last export, else the user's documents
    folder, else home (never the working directory, which is wherever the app was started)."""
    remembered = QSettings().value(EXPORT_DIR_KEY)
    candidates = [remembered] if isinstance(remembered, str) and remembered else []
    candidates.append(
        QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    )
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path.home()


class DeploymentActions(QObject):
    """The toolbar's actions of an overview window."""

    def __init__(self, window: OverviewWindow):
        super().__init__(window)
        self.cancel = self._action(
            "op-removed",
            "&Cancel",
            self.cancel_selected,
            "Ctrl+K",
            "Cancel the selected deployments (running ones are asked to stop)",
        )
        self.retry = self._action(
            "update",
            "&Retry",
            self.retry_selected,
            "Ctrl+R",
            "Queue the selected failed or cancelled deployments again",
        )
        self.deploy_now = self._action(
            "deploy-now",
            "Deploy &now",
            self.deploy_now_selected,
            "Ctrl+D",
            "Start the selected scheduled deployments without waiting",
        )
        self.reschedule = self._action(
            "deploy-at",
            "Re&schedule…",
            self.reschedule_selected,
            None,
            "Move the selected deployments to another time",
        )
        self.export = self._action(
            "export",
            "&Export run as CSV…",
            self.export_run,
            "Ctrl+E",
            "One row per device of the selected run",
        )
        self.tips = {a: a.statusTip() for a in (self.retry, self.deploy_now, self.reschedule)}
        self.toolbar = toolbar = window.addToolBar("Deployments")
        toolbar.setObjectName("overview-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for act in (self.cancel, self.retry, self.deploy_now, self.reschedule):
            toolbar.addAction(act)
        toolbar.addSeparator()
        toolbar.addAction(self.export)
        self.update()

    @property
    def window(self) -> OverviewWindow:
        """The window, as the Qt parent (no reference of our own: no cycle to collect)."""
        return cast("OverviewWindow", self.parent())

    def _action(
        self,
        name: str,
        text: str,
        slot: Callable[[], object],
        shortcut: str | None,
        tip: str,
    ) -> QAction:
        act = QAction(icon(name), text, self.window)
        act.triggered.connect(slot)
        act.setStatusTip(tip)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        return act

    def update(self) -> None:
        """Offer each action only when some selected deployment is in a state it applies to."""
        states = {row.state for row in self.window.selected_rows()}
        run_id = self.window.run_id
        standing = self.window.runs_model.standing_of(run_id) if run_id is not None else None
        # an aborted run starts nothing again: what would wait for it would wait for good
        live = standing is None or not standing.aborted
        self.cancel.setEnabled(not states.isdisjoint(CANCELLABLE))
        self.retry.setEnabled(live and not states.isdisjoint(RETRYABLE))
        self.deploy_now.setEnabled(live and not states.isdisjoint(DEPLOYABLE_NOW))
        self.reschedule.setEnabled(live and not states.isdisjoint(RESCHEDULABLE))
        for act, tip in self.tips.items():
            act.setToolTip(
                tip if live else f"Run #{run_id} was aborted: nothing of it starts again"
            )
        self.export.setEnabled(run_id is not None)

    # -- the actions -----------------------------------------------------------------------

    def _applicable(self, states: tuple[S, ...]) -> list[DeploymentRow]:
        return [row for row in self.window.selected_rows() if row.state in states]

    def cancel_selected(self) -> None:
        rows = self._applicable(CANCELLABLE)
        if not rows or not self._confirm(
            len(rows), *outcomes.cancel_question(rows), "Cancel Deployments", "Keep Them"
        ):
            return

        def said(result: tuple[list[int], list[int]]) -> str:
            stopped, asked = result
            return outcomes.cancelled(len(stopped), len(asked), len(rows))

        self._act("cancel", rows, self.window.engine.cancel, said)

    def retry_selected(self) -> None:
        rows = self._applicable(RETRYABLE)
        if rows:
            self._act(
                "retry",
                rows,
                self.window.engine.retry,
                lambda changed: outcomes.retried(len(changed), len(rows)),
            )

    def deploy_now_selected(self) -> None:
        rows = self._applicable(DEPLOYABLE_NOW)
        if not rows or not self._confirm(
            len(rows), *outcomes.deploy_now_question(rows, local_text), "Deploy Now", "Keep Waiting"
        ):
            return
        self._act(
            "deploy now",
            rows,
            self.window.engine.deploy_now,
            lambda changed: outcomes.deployed_now(len(changed), len(rows)),
        )

    def reschedule_selected(self) -> None:
        rows = self._applicable(RESCHEDULABLE)
        if not rows:
            return
        scheduled = [
            moment
            for row in rows
            if row.state == S.SCHEDULED and (moment := parse_time(row.scheduled_at)) is not None
        ]
        dialog = RescheduleDialog(len(rows), self.window, scheduled)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        at = dialog.chosen()
        self._act(
            "reschedule",
            rows,
            lambda ids: self.window.engine.reschedule(ids, at),
            lambda changed: outcomes.rescheduled(len(changed), len(rows), local_text(at)),
        )

    def _confirm(self, count: int, question: str, detail: str, yes: str, no: str) -> bool:
        """Ask before acting on several deployments at once (one is acted on directly)."""
        if count < 2:
            return True
        return ask(self.window, "Deployment Overview", question, detail, yes, no)

    def _act(
        self,
        what: str,
        rows: list[DeploymentRow],
        act: Callable[[list[int]], object],
        said: Callable[..., str],
    ) -> None:
        """Run an administrator's action on `rows` through the engine (in the background: the
        database may be busy), say what it did, then look again."""
        ids = [row.id for row in rows]
        window = self.window

        def done(result: object) -> None:
            window.statusBar().showMessage(said(result), 10_000)
            window.poll()

        def failed(error: BaseException) -> None:
            QMessageBox.warning(window, "Deployment Overview", f"Could not {what}: {error}")

        window.tasks.submit(lambda: act(ids), done, failed)

    def export_run(self) -> None:
        run_id = self.window.run_id
        if run_id is None:
            QMessageBox.information(self.window, "Export", "Select a run to export first.")
            return
        start = export_folder() / f"run-{run_id}.csv"
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export run as CSV", str(start), "CSV (*.csv)"
        )
        if not path:
            return
        QSettings().setValue(EXPORT_DIR_KEY, str(Path(path).parent))
        window = self.window
        window.tasks.submit(
            lambda: export_run_csv(run_id, path),
            lambda n: window.statusBar().showMessage(outcomes.exported(n, run_id, path), 10_000),
            lambda e: QMessageBox.warning(window, "Export", f"Could not export run #{run_id}: {e}"),
        )
