"""The agent's state on disk and the deployments it runs.

Layout under the agent's folder::

    state.json                    what is installed, every deployment, an activation journal
    downloads/<sha256>.tar.gz     verified artifacts until they are unpacked
    modules/<module>/<version>/   unpacked module versions (previous ones are kept)
    modules/<module>/.<version>.complete   written last: the version is whole (`keeping.py`)
    modules/<module>/current  ->  <version>   the active version; switching it activates

A deployment reuses every module version still whole on the device ("collector 1.0.0 already on
the device"), downloads and verifies the other artifacts and unpacks them, then activates all
its modules together, journalled so that a failure puts every link back (`activation.py`), and
then removes the versions past what `keep_versions` keeps, journalled too (`pruning.py`).
A deployment found running when the agent starts is started again from the beginning.

A state write that fails (a full disk) fails the deployment that needed it, with the reason, and
leaves the agent free for the next one; state.json still holds the last state written, so an
agent restarted in between runs that deployment again (see `StateNotSaved`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from appupdater.agent import AGENT_VERSION
from appupdater.agent.activation import Journal, Modules
from appupdater.agent.deployment import Deployment, now
from appupdater.agent.fetching import fetch_all
from appupdater.agent.files import Cancelled, StepFailed, write_json_atomically
from appupdater.agent.keeping import PRUNING, KeptVersions
from appupdater.agent.lifecycle import (
    HEALTH_RETRY,
    UNKNOWN,
    HealthGateFailed,
    activate,
    recover,
)
from appupdater.agent.limits import Limits
from appupdater.agent.protocol import (
    MAX_WAIT,
    Configuration,
    DeploymentState,
    LogLevel,
    Phase,
    Status,
)
from appupdater.agent.pruning import DEFAULT_KEEP, Version, prune
from appupdater.agent.removal import remove_tree
from appupdater.agent.steps import StateNotSaved

log = logging.getLogger("appupdater.agent")

DEFAULT_HEALTH_TIMEOUT = 60.0
DEFAULT_HOOK_TIMEOUT = 30.0
KEEP_DEPLOYMENTS = 50  # finished deployments kept in state.json
RUNNING = DeploymentState.RUNNING


class Conflict(Exception):
    """A request that cannot be taken now (HTTP 409); the text says why."""


class Agent:
    """The agent's state and its one deployment at a time. Thread-safe: the HTTP server calls it
    from a thread per request, the deployment runs in its own thread."""

    def __init__(
        self,
        root: Path,
        device: str = "",
        download_timeout: float = 30.0,
        *,
        limits: Limits | None = None,
        keep_versions: int = DEFAULT_KEEP,
        health_timeout: float = DEFAULT_HEALTH_TIMEOUT,
        hook_timeout: float = DEFAULT_HOOK_TIMEOUT,
    ):
        """`keep_versions`: previous versions of each module kept on disk besides the active
        one; the previous version always stays, so 0 keeps as much as 1 (`pruning.py`)."""
        self.root = Path(root)
        self.keep_versions = keep_versions
        self.health_timeout = health_timeout  # a changed module has this long to be healthy
        self.hook_timeout = hook_timeout  # one run of a hook
        self.health_retry = HEALTH_RETRY
        self.health: dict[str, str] = {}  # active module -> its health when last checked
        self.device = device
        self.download_timeout = download_timeout
        self.limits = limits or Limits()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified on every change (long polls)
        self.modules = Modules(self.root / "modules")
        self.kept = KeptVersions(self.modules.folder)
        self.recent: dict[str, list[str]] = {}  # module -> versions, most recently active first
        self.pruning: list[Version] = []  # being removed (a journal, like `journal`)
        self.installed: dict[str, Any] = {}
        self.deployments: dict[str, Deployment] = {}
        self.journal: Journal | None = None
        self._cancel: dict[str, threading.Event] = {}
        for folder in ("downloads", "modules", "staging"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        self.modules.repair()  # before a journal's links are put back over what it moves
        with self.lock:
            self._load()

    # ---- state on disk ---------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def _load(self) -> None:
        """Read state.json and clear what a stopped agent left half done; call with the lock
        held."""
        if self.state_file.exists():
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.installed = data.get("installed", {})
            self.deployments = {
                d["id"]: Deployment.from_json(d) for d in data.get("deployments", [])
            }
            journal = data.get("journal")
            self.journal = Journal.from_json(journal) if journal is not None else None
            self.recent = {m: list(v) for m, v in data.get("recent", {}).items()}
            self.pruning = [(p["module"], p["version"]) for p in data.get("pruning") or []]
            self.health = {str(m): str(h) for m, h in (data.get("health") or {}).items()}
        remove_tree(self.root / "staging")  # however deep (rmtree recursed); raises if it cannot
        (self.root / "staging").mkdir()
        for partial in (self.root / "downloads").glob("*.part"):
            partial.unlink()
        if self.journal is not None:  # its hooks are run again by the next deployment run
            log.warning("the agent stopped while activating; restoring the previous links")
            self.modules.restore(self.journal)
        if self.pruning:
            log.warning(
                "the agent stopped while removing old module versions; finishing: %s",
                ", ".join(f"{m} {v}" for m, v in self.pruning),
            )
            active = self.modules.active()
            for module, version in self.pruning:
                if active.get(module) != version:  # never, unless state.json was edited
                    self.kept.discard(module, version, PRUNING)
            self.pruning = []
            self._save()
        for aside in self.kept.sweep():
            log.info("removed modules/%s, left by an agent that stopped", aside)

    def _save(self) -> None:
        """Write state.json atomically; call with the lock held."""
        finished = [d for d in self.deployments.values() if d.state.final]
        for old in finished[:-KEEP_DEPLOYMENTS]:
            del self.deployments[old.id]
        data = {
            "agent_version": AGENT_VERSION,
            "device": self.device,
            "installed": self.installed,
            "deployments": [d.to_json() for d in self.deployments.values()],
            "journal": self.journal.to_json() if self.journal is not None else None,
            "recent": self.recent,
            "pruning": [{"module": m, "version": v} for m, v in self.pruning],
            "health": self.health,
        }
        try:
            write_json_atomically(self.state_file, json.dumps(data, indent=1))
        except OSError as exc:
            raise StateNotSaved(self.state_file, exc) from exc
        finally:
            self.changed.notify_all()

    def resume(self) -> None:
        """Start again the deployments that were running when the agent stopped."""
        with self.lock:
            for deployment in list(self.deployments.values()):  # saving trims old ones
                if deployment.state is RUNNING:
                    try:
                        self._log(
                            deployment,
                            LogLevel.WARNING,
                            "the agent restarted during this deployment; starting it again",
                        )
                        self._start(deployment)
                    except StateNotSaved as exc:
                        self._end(deployment, DeploymentState.FAILED, str(exc), transient=True)
            if self.journal is not None and not self._running():
                recover(self, None)  # left by a deployment no longer running (never, normally)

    # ---- what the API asks -----------------------------------------------------------------

    def _running(self) -> list[str]:
        return [d.id for d in self.deployments.values() if d.state is RUNNING]

    def status(self) -> dict[str, Any]:
        with self.lock:
            running = self._running()
            return Status(
                AGENT_VERSION,
                self.device,
                self.installed,
                self.modules.active(),
                running[0] if running else None,
                {m: self.health.get(m, UNKNOWN) for m in self.modules.active()},
            ).to_json()

    def put(self, deployment_id: str, configuration: Configuration) -> tuple[bool, dict[str, Any]]:
        """Take a deployment; the same id again is answered with its state (no second run),
        unless it ended in failure or was cancelled: then it runs again (a retry), with the
        configuration given now — the workstation's may have changed since (a corrected
        artifact, a newer version configured). Returns (created, deployment)."""
        with self.lock:
            existing = self.deployments.get(deployment_id)
            if existing is not None and existing.state in (RUNNING, DeploymentState.SUCCEEDED):
                if existing.configuration != configuration:
                    done = "is running" if existing.state is RUNNING else "installed"
                    raise Conflict(
                        f"deployment {deployment_id} {done} another configuration on this device"
                    )
                return False, existing.to_json()
            busy = self._running()
            if busy:
                raise Conflict(f"deployment {busy[0]} is in progress on this device")
            if existing is not None:  # a retry of a failed or cancelled one
                deployment = existing
                deployment.configuration = configuration
                deployment.attempts += 1
                deployment.state, deployment.phase, deployment.progress = RUNNING, Phase.NONE, 0
                deployment.message, deployment.finished_at = "", None
                text = f"attempt {deployment.attempts} started"
            else:
                deployment = Deployment(deployment_id, configuration)
                self.deployments[deployment_id] = deployment
                text = "deployment received"
            try:
                self._log(deployment, LogLevel.INFO, text)
                self._start(deployment)
            except StateNotSaved as exc:
                self._end(
                    deployment,
                    DeploymentState.FAILED,
                    f"{exc}; the device runs what it ran before",
                    transient=True,
                )
            return existing is None, deployment.to_json()

    def get(
        self, deployment_id: str, log_after: int = 0, wait: float = 0.0
    ) -> dict[str, Any] | None:
        """The deployment's state and its log lines after `log_after`; with `wait`, hold the
        answer until something changes (or `wait` seconds pass)."""
        deadline = time.monotonic() + max(0.0, min(wait, MAX_WAIT))
        with self.lock:
            deployment = self.deployments.get(deployment_id)
            if deployment is None:
                return None
            seen = deployment.mark()
            while deployment.state is RUNNING and len(deployment.log) <= log_after:
                left = deadline - time.monotonic()
                if left <= 0 or deployment.mark() != seen:
                    break
                self.changed.wait(left)
            return deployment.to_json(log_after)

    def cancel(self, deployment_id: str) -> dict[str, Any] | None:
        with self.lock:
            deployment = self.deployments.get(deployment_id)
            if deployment is None:
                return None
            if deployment.state is RUNNING:
                self._cancel[deployment_id].set()
                try:
                    self._log(deployment, LogLevel.WARNING, "cancel requested")
                except StateNotSaved as exc:  # taken all the same: the run sees the flag
                    log.error("%s: %s", deployment.id, exc)
            return deployment.to_json()

    # ---- running a deployment -------------------------------------------------------------

    def _start(self, deployment: Deployment) -> None:
        self._cancel[deployment.id] = threading.Event()
        self._save()
        threading.Thread(
            target=self._run, args=(deployment,), name=f"deploy-{deployment.id}", daemon=True
        ).start()

    def _log(self, deployment: Deployment, level: LogLevel, text: str) -> None:
        """A line in the deployment's log, written to disk at once: the workstation counts
        lines, so those it has seen must still be there after a restart."""
        deployment.add_log(level, text)
        log.info("%s: %s", deployment.id, text)
        self._save()

    def _report(
        self, deployment: Deployment, phase: Phase, progress: float, text: str = ""
    ) -> None:
        with self.lock:
            deployment.phase, deployment.progress = phase, max(0, min(100, int(progress)))
            if text:
                self._log(deployment, LogLevel.INFO, text)
            self.changed.notify_all()

    def _run(self, deployment: Deployment) -> None:
        cancel = self._cancel[deployment.id]
        try:
            recover(self, deployment)  # what a stopped agent left half activated
            fetch_all(self, deployment, cancel.is_set)
            if cancel.is_set():
                raise Cancelled()
            activate(self, deployment, cancel)
            prune(self, deployment)
        except Cancelled:
            self._end(
                deployment,
                DeploymentState.CANCELLED,
                "cancelled; the device runs what it ran before",
            )
        except HealthGateFailed as exc:  # its text says how it was rolled back
            self._end(deployment, DeploymentState.FAILED, str(exc))
        except StepFailed as exc:
            self._end(
                deployment,
                DeploymentState.FAILED,
                f"{exc}; the device runs what it ran before",
                transient=exc.transient,
            )
        except Exception as exc:  # a bug or an unexpected disk problem: still answer clearly
            log.exception("deployment %s failed", deployment.id)
            self._end(
                deployment,
                DeploymentState.FAILED,
                f"unexpected error on the device: {exc!r}; the device runs what it ran before",
                transient=True,
            )
        else:
            names = ", ".join(
                f"{a.name} {a.version}" for a in deployment.configuration.applications
            )
            self._end(deployment, DeploymentState.SUCCEEDED, f"active: {names or 'nothing'}")

    def _end(
        self,
        deployment: Deployment,
        state: DeploymentState,
        message: str,
        transient: bool = False,
    ) -> None:
        """End the deployment, in memory whatever happens to the write: an end that cannot be
        written is still the end (a success that cannot be recorded is a failure)."""
        succeeded = state is DeploymentState.SUCCEEDED
        with self.lock:
            deployment.state, deployment.message, deployment.transient = state, message, transient
            deployment.finished_at = now()
            if succeeded:
                deployment.progress = 100
            deployment.phase = Phase.NONE
            try:
                self._log(deployment, LogLevel.INFO if succeeded else LogLevel.ERROR, message)
            except StateNotSaved as exc:
                log.error("%s: %s", deployment.id, exc)
                if succeeded:
                    deployment.state, deployment.transient = DeploymentState.FAILED, True
                    deployment.message = f"{message}, but {exc}"
                    deployment.add_log(LogLevel.ERROR, deployment.message)
                elif str(exc) not in message:
                    deployment.message = f"{message} ({exc})"
                    deployment.add_log(LogLevel.ERROR, str(exc))
                self.changed.notify_all()
