"""The overview's actions on the selected run: pause, resume, start the next wave now, abort.
Each is offered only where it applies to the run as last read; the engine decides (and says so
when the run changed meanwhile), off the GUI thread, and the row and the buttons follow at the
refresh that comes right after."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox, QToolBar

from appupdater.core.identity import who
from appupdater.core.overview import RunSummary
from appupdater.core.rollout import Standing
from appupdater.core.run_decisions import Decision
from appupdater.core.words import plural
from appupdater.store.models import WAITING_STATES
from appupdater.store.models import DeploymentState as S
from appupdater.ui.icons import icon
from appupdater.ui.overview.standing import unapproved
from appupdater.ui.questions import ask

if TYPE_CHECKING:
    from appupdater.ui.overview.window import OverviewWindow


def unfinished(run: RunSummary) -> bool:
    """Whether the run has work that has not ended (one not configured yet has it all)."""
    return not run.configured or any(n and not S(s).is_final for s, n in run.counts.items())


class RunActions(QObject):
    """Pause, Resume, Start next wave now and Abort run… on the toolbar of an overview."""

    def __init__(self, window: OverviewWindow, toolbar: QToolBar):
        super().__init__(window)
        self.pause = self._action(
            "warning", "&Pause", self.pause_run, "Start nothing new of the selected run"
        )
        self.resume = self._action(
            "deploy-now", "Res&ume", self.resume_run, "Let the selected paused run go on"
        )
        self.next_wave = self._action(
            "update",
            "Start next &wave now",
            self.start_next_wave,
            "Open the selected run's next wave without waiting for its soak time",
        )
        self.abort = self._action(
            "op-removed",
            "&Abort run…",
            self.abort_run,
            "Cancel every deployment of the selected run that has not finished",
        )
        toolbar.addSeparator()
        for act in (self.pause, self.resume, self.next_wave, self.abort):
            toolbar.addAction(act)
        self.update()

    @property
    def window(self) -> OverviewWindow:
        return cast("OverviewWindow", self.parent())

    def _action(self, name: str, text: str, slot: Callable[[], object], tip: str) -> QAction:
        act = QAction(icon(name), text, self.window)
        act.triggered.connect(slot)
        act.setStatusTip(tip)
        act.setToolTip(tip)
        return act

    def _selected(self) -> tuple[RunSummary, Standing | None] | None:
        run = self.window.selected_run()
        if run is None:
            return None
        return run, self.window.runs_model.standing_of(run.id)

    def update(self) -> None:
        """Offer each action only where it applies to the selected run."""
        chosen = self._selected()
        pause = resume = next_wave = abort = False
        if chosen is not None and not unapproved(chosen[1]):
            run, standing = chosen
            paused = standing is not None and standing.paused
            aborted = standing is not None and standing.aborted
            open_work = unfinished(run) and not aborted
            pause = open_work and not paused
            resume = paused and not aborted
            waves = standing.waves if standing is not None else None
            # a later wave exists by the standing and by the counts (read a moment apart)
            later = waves is not None and waves.current < waves.total
            next_wave = later and open_work and not paused and run.counts.get(S.HELD, 0) > 0
            abort = open_work
        self.pause.setEnabled(pause)
        self.resume.setEnabled(resume)
        self.next_wave.setEnabled(next_wave)
        self.abort.setEnabled(abort)

    # -- the actions -----------------------------------------------------------------------

    def pause_run(self) -> None:
        self._decide("pause", lambda engine, run_id, by: engine.pause(run_id, by))

    def resume_run(self) -> None:
        self._decide("resume", lambda engine, run_id, by: engine.resume(run_id, by))

    def start_next_wave(self) -> None:
        self._decide("start the next wave", lambda engine, run_id, by: engine.next_wave(run_id, by))

    def abort_run(self) -> None:
        chosen = self._selected()
        if chosen is None:
            return
        run = chosen[0]
        waiting = sum(run.counts.get(s, 0) for s in WAITING_STATES)
        running = run.counts.get(S.RUNNING, 0)
        parts = []
        if waiting:
            verb = "has" if waiting == 1 else "have"
            parts.append(f"cancels {plural(waiting, 'deployment')} that {verb} not started")
        if running:
            parts.append(f"asks {plural(running, 'running deployment')} to stop")
        detail = (
            f"This {' and '.join(parts)}. Deployments that finished stay as they are."
            if parts
            else "Every deployment the run still makes is cancelled."
        )
        if not run.configured:
            detail = "The run's devices are still being configured: every deployment is cancelled."
        if ask(
            self.window,
            "Deployment Overview",
            f"Abort run #{run.id}?",
            detail + " This cannot be undone.",
            "Abort Run",
            "Keep It",
            icon=QMessageBox.Icon.Warning,
            yes_role=QMessageBox.ButtonRole.DestructiveRole,
        ):
            self._decide("abort", lambda engine, run_id, by: engine.abort(run_id, by))

    def _decide(self, what: str, decide: Callable[..., Decision]) -> None:
        """Ask the engine (in the background: the database may be busy), say what it decided,
        then look again."""
        chosen = self._selected()
        if chosen is None:
            return
        run_id = chosen[0].id
        window = self.window
        engine = window.engine

        def done(decision: Decision) -> None:
            message = decision.message
            cancelled, asked = len(decision.cancelled), len(decision.asked_to_stop)
            if cancelled or asked:
                message += f": {plural(cancelled, 'deployment')} cancelled"
                message += f", {asked} asked to stop" if asked else ""
            window.statusBar().showMessage(message[:1].upper() + message[1:] + ".", 10_000)
            window.poll()

        def failed(error: BaseException) -> None:
            QMessageBox.warning(
                window, "Deployment Overview", f"Could not {what} run #{run_id}: {error}"
            )

        # who acts is read off the GUI thread too (a query on PostgreSQL)
        window.tasks.submit(lambda: decide(engine, run_id, who().user), done, failed)
