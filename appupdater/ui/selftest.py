"""`appupdater --self-test`: check an installation in seconds.

Off-screen, on a temporary database and with temporary settings (nothing of the user's is read
or written), it renders every icon, starts a real device agent on loopback beside simulated
devices, opens the main window, drives the Update wizard through its three pages to Approve
Update, lets the engine deploy until the run completes — checking on the agent's own disk that
the new module versions are active, and that the devices without an agent were simulated — and
opens the Deployment Overview on it. Each step prints a line; the exit code is 0 only if every
step passed. It catches what packaging breaks: a missing resource or Qt plugin, a module or the
agent left out of a frozen build, a schema migration that fails on a new database.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import PySide6
from PySide6.QtCore import QLibrary, QLibraryInfo, QTimer, qInstallMessageHandler, qVersion
from PySide6.QtWidgets import QApplication, QMessageBox

from appupdater import __version__
from appupdater.core.fleetimport import import_file
from appupdater.core.versions import parse_version
from appupdater.core.words import plural
from appupdater.demo.agents import CATALOG, DemoAgent, read_agent_state, start_demo, stop_demo
from appupdater.desktop import resources_dir
from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings
from appupdater.store import rows
from appupdater.store.db import close_database, open_database
from appupdater.store.migrations import schema_version
from appupdater.store.models import Deployment, DeploymentState, Device
from appupdater.ui.app import Application, configure_application
from appupdater.ui.icons import icon

AGENTS = 1
SIMULATED = 5
DEVICES = AGENTS + SIMULATED
APP = "line-monitor"  # the agent demo's application
# the wizard updates to the latest version of the agent demo's catalog
TARGET = max(CATALOG, key=lambda text: parse_version(text).key)
TIMEOUT_S = 90.0


@dataclass
class Wait:
    """Yielded by a step: poll `done` until it is true, for at most `timeout` seconds."""

    done: Callable[[], bool]
    what: str
    timeout: float = 30.0


class StepFailed(Exception):
    pass


def xcb_platform(plugins: Path) -> str:
    """Whether Qt's X11 platform plugin would load (the self-test itself runs off-screen):
    a missing system library, such as libxcb-cursor0 since Qt 6.5, stops the app on X11."""
    found = sorted((plugins / "platforms").glob("libqxcb*.so"))
    if not found:
        return "WARNING: not installed"
    library = QLibrary(str(found[0]))
    if not library.load():
        return f"WARNING: does not load: {library.errorString()}"
    return "loads"


def run_self_test(out: TextIO = sys.stdout, keep: Path | None = None) -> int:
    """Run every step; 0 if all passed, 1 otherwise. Everything it makes lives in a temporary
    folder, removed at the end — or in `keep` (which must not exist yet), left to look at."""
    if keep is not None:
        keep.mkdir(parents=True)
        return _run_in(keep, out)
    with tempfile.TemporaryDirectory(prefix="appupdater-self-test-") as folder:
        return _run_in(Path(folder), out)


def _run_in(tmp: Path, out: TextIO) -> int:
    # before Qt starts: no window on screen, no settings or data of the user's touched
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    os.environ["XDG_RUNTIME_DIR"] = str(tmp / "runtime")
    (tmp / "runtime").mkdir(mode=0o700)
    return SelfTest(tmp, out).run()


class SelfTest:
    def __init__(self, folder: Path, out: TextIO):
        self.folder = folder
        self.out = out
        self.failures: list[str] = []
        self.errors: list[str] = []  # exceptions raised inside Qt slots
        self.qt_messages: list[str] = []  # Qt's warnings, reported (they fail nothing)
        self.completed: dict[int, tuple[int, int]] = {}
        self.run_id: int | None = None
        self.agents: list[DemoAgent] = []

    # -- output ----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        try:
            print(text, file=self.out, flush=True)
        except OSError:  # the reader went away (`| head`): finish the test without output
            self.out = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the test

    # -- the driver ------------------------------------------------------------------------

    def run(self) -> int:
        started = time.monotonic()
        existing = QApplication.instance()
        self.app = (
            existing
            if isinstance(existing, QApplication)
            else QApplication([sys.argv[0], "-platform", "offscreen"])
        )
        self.app.setQuitOnLastWindowClosed(False)
        previous_hook = sys.excepthook
        sys.excepthook = self._uncaught
        previous_handler = qInstallMessageHandler(self._qt_message)
        self.steps = self._steps()
        self.step_started = self.wait_started = time.monotonic()
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._advance)
        self.waiting: Wait | None = None
        self.current = ""
        QTimer.singleShot(0, self._advance)
        self.timer.start()
        QTimer.singleShot(int(TIMEOUT_S * 1000), self._overran)
        self.app.exec()
        self.timer.stop()
        self._tear_down()
        sys.excepthook = previous_hook
        qInstallMessageHandler(previous_handler)
        for message in self.qt_messages:
            self.say(f"  Qt said: {message}")
        elapsed = time.monotonic() - started
        if self.failures or self.errors:
            for error in self.errors:
                self.say(f"  error raised in the event loop:\n{error}")
            self.say(f"self-test FAILED after {elapsed:.1f} s")
            return 1
        self.say(f"self-test passed in {elapsed:.1f} s")
        return 0

    def _overran(self) -> None:
        self.failures.append(f"{self.current}: the self-test did not end in {TIMEOUT_S:.0f} s")
        self.say(f"  FAIL  {self.failures[-1]}")
        self.app.quit()

    def _qt_message(self, kind, context, message: str) -> None:
        # the off-screen platform cannot raise windows or grab the keyboard: not a finding
        if not message.startswith("This plugin does not support"):
            self.qt_messages.append(f"{kind.name}: {message}")

    def _uncaught(self, kind, value, tb) -> None:
        self.errors.append("".join(traceback.format_exception(kind, value, tb)))

    def _advance(self) -> None:
        """Resume the steps when what they wait for is done; fail a step that overruns."""
        try:
            if self.errors:
                raise StepFailed("an exception was raised in the event loop")
            if self.waiting is not None:
                if not self.waiting.done():
                    if time.monotonic() - self.wait_started > self.waiting.timeout:
                        raise StepFailed(
                            f"timed out after {self.waiting.timeout:.0f} s waiting "
                            f"for {self.waiting.what}"
                        )
                    return
                self.waiting = None
            self.waiting = next(self.steps)
            self.wait_started = time.monotonic()
        except StopIteration:
            self.timer.stop()
            self.app.quit()
        except Exception as exc:  # every failure is reported, none escapes
            detail = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
            self.failures.append(f"{self.current}: {detail}")
            self.say(f"  FAIL  {self.current}: {detail}")
            if not isinstance(exc, StepFailed):
                self.say(traceback.format_exc().rstrip())
            self.timer.stop()
            self.app.quit()

    def _begin(self, what: str) -> None:
        self.current = what
        self.step_started = time.monotonic()

    def _passed(self, text: str) -> None:
        self.say(f"  ok    {text} ({time.monotonic() - self.step_started:.2f} s)")

    # -- the steps -------------------------------------------------------------------------

    def _steps(self) -> Iterator[Wait]:
        plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
        self.say(f"App Updater {__version__} self-test")
        self.say(
            f"  Python {platform.python_version()}, Qt {qVersion()} (PySide6 "
            f"{PySide6.__version__}), {platform.system()} {platform.machine()}"
        )
        self.say(f"  resources: {resources_dir()}")
        self.say(f"  Qt plugins: {plugins}")
        self.say(f"  X11 (xcb) platform: {xcb_platform(plugins)}")

        self._begin("icons")
        configure_application(self.app)
        names = sorted(p.stem for p in (resources_dir() / "icons").glob("*.svg"))
        if not names:
            raise StepFailed(f"no icons in {resources_dir() / 'icons'}")
        blank = [name for name in names if icon(name).pixmap(32, 32).isNull()]
        if blank:
            raise StepFailed(f"icons that do not render (SVG image plugin?): {', '.join(blank)}")
        self._passed(f"{len(names)} icons render")

        self._begin("database and devices")
        database = str(self.folder / "self-test.sqlite3")
        bound = open_database(database)
        self.agents, fleet = start_demo(
            self.folder / "agents", AGENTS, simulated=SIMULATED, simulated_latency=0.2
        )
        summary = import_file(fleet)
        self._passed(
            f"schema {schema_version(bound)}, {AGENTS} agent on loopback and {SIMULATED} "
            f"simulated devices: {summary.describe()}"
        )

        self._begin("main window")
        self.engine = build_engine(EngineSettings(tick_ms=50, probe_interval=None))
        self.engine.run_completed.connect(self._run_completed)
        self.controller = Application(self.app, self.engine, tray=False)
        self.controller.start(database)
        window = self.controller.window
        yield Wait(lambda: window.inventory is not None, "the fleet to load")
        apps = window.apps_model.rowCount()
        devices = window.devices_model.rowCount()
        if not (window.isVisible() and apps and devices == DEVICES):
            raise StepFailed(f"shows {apps} applications and {devices} of {DEVICES} devices")
        self._passed(f"main window lists {plural(apps, 'application')} and {devices} devices")

        self._begin("update wizard")
        app_row = next((row for row, app in enumerate(window.apps_model.apps) if app.behind), None)
        if app_row is None:
            raise StepFailed("no application of the demo fleet has devices to update")
        window.apps_view.selectRow(app_row)
        window.update_action.trigger()
        wizard = window.wizard
        if wizard is None or not wizard.isVisible():
            raise StepFailed("Update applications… opened no wizard")
        wizard.run_created.connect(lambda run_id, _applied: setattr(self, "run_id", run_id))
        devices_page = wizard.devices_page
        if devices_page is None:
            raise StepFailed("Update applications… opened a wizard without its Devices page")
        yield Wait(devices_page.isComplete, "the plan of the Devices page")
        devices_page.select_all.click()
        targets = len(wizard.state.selected)
        wizard.next()
        wizard.next()
        finalize = wizard.finalize_page
        if wizard.currentPage() is not finalize:
            raise StepFailed(f"the wizard stopped on {wizard.currentPage().title()!r}")
        yield Wait(finalize.isComplete, "the Finalize page")

        def confirm() -> bool:
            box = self.app.activeModalWidget()
            if isinstance(box, QMessageBox):
                box.button(QMessageBox.StandardButton.Ok).click()
                return True
            return False

        # the question is modal: answer it from inside its own event loop
        answer = QTimer()
        answer.setInterval(20)

        def answer_once() -> None:
            if confirm():
                answer.stop()

        answer.timeout.connect(answer_once)
        answer.start()
        wizard.button(wizard.WizardButton.FinishButton).click()
        yield Wait(lambda: self.run_id is not None, "the approved run to be recorded")
        answer.stop()
        self._passed(f"wizard approved run #{self.run_id} for {plural(targets, 'device')}")

        self._begin("rollout")
        run_id = self.run_id
        if run_id is None:
            raise StepFailed("no run was recorded")
        yield Wait(lambda: run_id in self.completed, "the rollout to complete", 60.0)
        succeeded, failed = self.completed[run_id]
        states = dict(
            rows.tuples(
                Deployment.select(Device.name, Deployment.state)
                .join(Device)
                .where(Deployment.run == run_id),
                tuple[str, str],
            )
        )
        done = [name for name, state in states.items() if state == DeploymentState.SUCCEEDED]
        if failed or len(done) != len(states) or len(done) != targets:
            raise StepFailed(
                f"{succeeded} succeeded, {failed} failed; {len(done)} of {len(states)} stored "
                f"as succeeded, {targets} approved"
            )
        self._check_agents(run_id)
        self._check_simulated(run_id)
        self._passed(
            f"{len(done)} deployments succeeded: {APP} {TARGET} active on the agent's "
            f"disk, {SIMULATED} devices simulated"
        )

        self._begin("deployment overview")
        overview = window.overview
        if overview is None or not overview.isVisible():
            raise StepFailed("Approve Update opened no Deployment Overview")

        def shows_completed() -> bool:
            return any(
                run.id == run_id and run.status == "completed" for run in overview.runs_model.items
            )

        yield Wait(shows_completed, f"the overview to show run #{run_id} completed")
        self._passed(f"overview shows run #{run_id} completed")

    def _check_agents(self, run_id: int) -> None:
        """What each agent itself says, on its disk: the target's modules are the active ones,
        and the deployment it ran is the one this run pushed."""
        wanted = dict(CATALOG[TARGET])
        for agent in self.agents:
            disk = read_agent_state(self.folder / "agents" / "devices" / agent.name)
            if disk.active != wanted:
                raise StepFailed(f"{agent.name} runs {disk.active} after the rollout, not {wanted}")
            deployment_id = rows.scalar(
                Deployment.select(Deployment.id)
                .join(Device)
                .where((Deployment.run == run_id) & (Device.name == agent.name)),
                int,
            )
            if (
                deployment_id is None
                or not disk.succeeded(run_id, deployment_id)
                or disk.installed.get(APP) != TARGET
            ):
                raise StepFailed(
                    f"{agent.name} did not record deployment #{deployment_id} as succeeded, "
                    f"with {APP} {TARGET} installed: {disk.deployments}, {disk.installed}"
                )

    def _check_simulated(self, run_id: int) -> None:
        """The devices without an endpoint were deployed by simulation, not through an agent."""
        messages = dict(
            rows.tuples(
                Deployment.select(Device.name, Deployment.last_message)
                .join(Device)
                .where((Deployment.run == run_id) & Device.endpoint.is_null()),
                tuple[str, str],
            )
        )
        wrong = {
            name: text
            for name, text in messages.items()
            if text != f"deployed to {name}: {APP} {TARGET}"
        }
        if len(messages) != SIMULATED or wrong:
            raise StepFailed(f"simulated devices: {len(messages)} of {SIMULATED}; {wrong}")

    def _run_completed(self, run_id: int, succeeded: int, failed: int) -> None:
        self.completed[run_id] = (succeeded, failed)

    def _tear_down(self) -> None:
        controller = getattr(self, "controller", None)
        if controller is not None:
            controller.quit()  # closes the overview, and the window with its wizard
            controller.shutdown()
        stop_demo(self.agents)
        close_database()
