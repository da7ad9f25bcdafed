"""The agent's state on disk and the deployments it runs.

Layout under the agent's folder::

    state.json                    what is installed, every deployment, an activation journal
    downloads/<sha256>.tar.gz     verified artifacts (kept: a retry does not download again)
    modules/<module>/<version>/   unpacked module versions (previous ones are kept)
    modules/<module>/current  ->  <version>   the active version; switching it activates

A deployment downloads and verifies every artifact, unpacks the new versions, then activates all
its modules together: the links it will change are written to a journal in state.json first,
then switched; modules no longer configured lose their link. If anything fails — or the agent
stops in the middle — the journal puts every link back, so the device runs what it ran before.
A deployment found running when the agent starts is started again from the beginning.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appupdater.agent import AGENT_VERSION
from appupdater.agent.files import (
    Cancelled,
    StepFailed,
    download,
    switch_link,
    unpack,
    write_json_atomically,
)
from appupdater.agent.protocol import Configuration, parse_configuration

log = logging.getLogger("appupdater.agent")

FINAL = ("succeeded", "failed", "cancelled")
MAX_LOG = 500  # lines kept per deployment
KEEP_DEPLOYMENTS = 50  # finished deployments kept in state.json


class Conflict(Exception):
    """A request that cannot be taken now (HTTP 409); the text says why."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Deployment:
    id: str
    configuration: Configuration
    state: str = "running"
    phase: str = "downloading"
    progress: int = 0
    message: str = ""
    transient: bool = False
    log: list[dict] = field(default_factory=list)
    attempts: int = 1
    started_at: str = field(default_factory=_now)
    finished_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "phase": self.phase,
            "progress": self.progress,
            "message": self.message,
            "transient": self.transient,
            "attempts": self.attempts,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "configuration": self.configuration.to_json(),
            "log": self.log,
        }

    @classmethod
    def from_json(cls, data: dict) -> Deployment:
        return cls(
            data["id"],
            parse_configuration(data["configuration"]),  # written by us, checked again
            data["state"],
            data.get("phase") or "",
            int(data.get("progress", 0)),
            data.get("message", ""),
            bool(data.get("transient", False)),
            list(data.get("log", [])),
            int(data.get("attempts", 1)),
            data.get("started_at") or _now(),
            data.get("finished_at"),
        )


class Agent:
    """The agent's state and its one deployment at a time. Thread-safe: the HTTP server calls it
    from a thread per request, the deployment runs in its own thread."""

    def __init__(self, root: Path, device: str = "", download_timeout: float = 30.0):
        self.root = Path(root)
        self.device = device
        self.download_timeout = download_timeout
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified on every change (long polls)
        self.installed: dict[str, Any] = {}
        self.deployments: dict[str, Deployment] = {}
        self.journal: dict[str, Any] | None = None
        self._cancel: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        for folder in ("downloads", "modules", "staging"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        self._load()

    # ---- state on disk ---------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def _load(self) -> None:
        with self.lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self.state_file.exists():
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.installed = data.get("installed", {})
            self.deployments = {
                d["id"]: Deployment.from_json(d) for d in data.get("deployments", [])
            }
            self.journal = data.get("journal")
        shutil.rmtree(self.root / "staging", ignore_errors=True)
        (self.root / "staging").mkdir()
        for partial in (self.root / "downloads").glob("*.part"):
            partial.unlink()
        if self.journal is not None:
            log.warning("the agent stopped while activating; restoring the previous links")
            self._roll_back()

    def _save(self) -> None:
        """Write state.json atomically; call with the lock held."""
        finished = [d for d in self.deployments.values() if d.state in FINAL]
        for old in finished[:-KEEP_DEPLOYMENTS]:
            del self.deployments[old.id]
        data = {
            "agent_version": AGENT_VERSION,
            "device": self.device,
            "installed": self.installed,
            "deployments": [d.to_json() for d in self.deployments.values()],
            "journal": self.journal,
        }
        write_json_atomically(self.state_file, json.dumps(data, indent=1))
        self.changed.notify_all()

    def resume(self) -> None:
        """Start again the deployments that were running when the agent stopped."""
        with self.lock:
            for deployment in self.deployments.values():
                if deployment.state == "running":
                    self._log(
                        deployment,
                        "warning",
                        "the agent restarted during this deployment; starting it again",
                    )
                    self._start(deployment)

    # ---- what the API asks -----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self.lock:
            running = [d.id for d in self.deployments.values() if d.state == "running"]
            return {
                "agent_version": AGENT_VERSION,
                "device": self.device,
                "installed": self.installed,
                "active_modules": self._active_modules(),
                "deployment_in_progress": running[0] if running else None,
            }

    def put(self, deployment_id: str, configuration: Configuration) -> tuple[bool, dict]:
        """Take a deployment; the same id again is answered with its state (no second run),
        unless it ended failed or cancelled: then it runs again (a retry). Returns (created,
        deployment)."""
        with self.lock:
            existing = self.deployments.get(deployment_id)
            if existing is not None and existing.configuration != configuration:
                raise Conflict(f"deployment {deployment_id} exists with another configuration")
            if existing is not None and existing.state in ("running", "succeeded"):
                return False, existing.to_json()
            busy = [d.id for d in self.deployments.values() if d.state == "running"]
            if busy:
                raise Conflict(f"deployment {busy[0]} is in progress on this device")
            if existing is not None:  # a retry of a failed or cancelled one
                deployment = existing
                deployment.attempts += 1
                deployment.state, deployment.phase, deployment.progress = "running", "", 0
                deployment.message, deployment.finished_at = "", None
                self._log(deployment, "info", f"attempt {deployment.attempts} started")
            else:
                deployment = Deployment(deployment_id, configuration)
                self.deployments[deployment_id] = deployment
                self._log(deployment, "info", "deployment received")
            self._start(deployment)
            return existing is None, deployment.to_json()

    def get(self, deployment_id: str, log_after: int = 0, wait: float = 0.0) -> dict | None:
        """The deployment's state and its log lines after `log_after`; with `wait`, hold the
        answer until something changes (or `wait` seconds pass)."""
        deadline = time.monotonic() + max(0.0, min(wait, 30.0))
        with self.lock:
            deployment = self.deployments.get(deployment_id)
            if deployment is None:
                return None
            seen = (deployment.state, deployment.phase, deployment.progress, len(deployment.log))
            while deployment.state == "running" and len(deployment.log) <= log_after:
                left = deadline - time.monotonic()
                now = (deployment.state, deployment.phase, deployment.progress, len(deployment.log))
                if left <= 0 or now != seen:
                    break
                self.changed.wait(left)
            data = deployment.to_json()
            data["log"] = deployment.log[log_after:]
            data["log_total"] = len(deployment.log)
            return data

    def cancel(self, deployment_id: str) -> dict | None:
        with self.lock:
            deployment = self.deployments.get(deployment_id)
            if deployment is None:
                return None
            if deployment.state == "running":
                self._cancel[deployment_id].set()
                self._log(deployment, "warning", "cancel requested")
            return deployment.to_json()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait for the running deployment's thread (used when the agent shuts down)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)

    # ---- running a deployment -------------------------------------------------------------

    def _start(self, deployment: Deployment) -> None:
        self._cancel[deployment.id] = threading.Event()
        self._save()
        thread = threading.Thread(
            target=self._run, args=(deployment,), name=f"deploy-{deployment.id}", daemon=True
        )
        self._threads[deployment.id] = thread
        thread.start()

    def _log(self, deployment: Deployment, level: str, text: str) -> None:
        """A line in the deployment's log, written to disk at once: the workstation counts
        lines, so those it has seen must still be there after a restart."""
        deployment.log.append({"at": _now(), "level": level, "message": text})
        del deployment.log[:-MAX_LOG]
        log.info("%s: %s", deployment.id, text)
        self._save()

    def _report(self, deployment: Deployment, phase: str, progress: float, text: str = "") -> None:
        with self.lock:
            deployment.phase, deployment.progress = phase, max(0, min(100, int(progress)))
            if text:
                self._log(deployment, "info", text)
            self.changed.notify_all()

    def _run(self, deployment: Deployment) -> None:
        cancel = self._cancel[deployment.id]
        try:
            self._fetch_all(deployment, cancel.is_set)
            if cancel.is_set():
                raise Cancelled()
            self._activate(deployment)
        except Cancelled:
            self._end(deployment, "cancelled", "cancelled; the device runs what it ran before")
        except StepFailed as exc:
            self._end(
                deployment,
                "failed",
                f"{exc}; the device runs what it ran before",
                transient=exc.transient,
            )
        except Exception as exc:  # a bug or an unexpected disk problem: still answer clearly
            log.exception("deployment %s failed", deployment.id)
            self._end(
                deployment,
                "failed",
                f"unexpected error on the device: {exc!r}; the device runs what it ran before",
                transient=True,
            )
        else:
            names = ", ".join(
                f"{a.name} {a.version}" for a in deployment.configuration.applications
            )
            self._end(deployment, "succeeded", f"active: {names or 'nothing'}")

    def _end(self, deployment: Deployment, state: str, message: str, transient=False) -> None:
        with self.lock:
            deployment.state, deployment.message, deployment.transient = state, message, transient
            deployment.finished_at = _now()
            if state == "succeeded":
                deployment.progress = 100
            deployment.phase = ""
            self._log(deployment, "info" if state == "succeeded" else "error", message)
            self._save()

    def _version_dir(self, module: str, version: str) -> Path:
        return self.root / "modules" / module / version

    def _fetch_all(self, deployment: Deployment, cancelled) -> None:
        """Download, verify and unpack every module version not on the device yet."""
        modules = deployment.configuration.modules
        missing = [m for m in modules if not self._version_dir(m.name, m.version).is_dir()]
        if not missing:
            self._report(deployment, "installing", 60, "every module version is already here")
            return
        share = 60 / len(missing)
        for index, module in enumerate(missing):
            what = f"{module.name} {module.version}"
            base = index * share
            archive = self.root / "downloads" / f"{module.sha256}.tar.gz"
            if not archive.exists():
                self._report(deployment, "downloading", base, f"downloading {what}")

                def progress(done, total, base=base):
                    if total:
                        self._report(deployment, "downloading", base + share * 0.8 * done / total)

                download(
                    module.url,
                    module.sha256,
                    archive,
                    what=what,
                    cancelled=cancelled,
                    progress=progress,
                    timeout=self.download_timeout,
                )
            if cancelled():
                raise Cancelled()
            self._report(deployment, "installing", base + share * 0.8, f"unpacking {what}")
            staging = self.root / "staging" / f"{module.name}-{module.version}-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            unpack(archive, staging, what=what)
            target = self._version_dir(module.name, module.version)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, target)

    def _active_modules(self) -> dict[str, str]:
        active = {}
        for link in (self.root / "modules").glob("*/current"):
            if link.is_symlink():
                active[link.parent.name] = os.readlink(link)
        return active

    def _activate(self, deployment: Deployment) -> None:
        """Switch every module's `current` link together, journalled so it can be undone."""
        configuration = deployment.configuration
        wanted = {m.name: m.version for m in configuration.modules}
        with self.lock:
            before = self._active_modules()
            touched = sorted(set(before) | set(wanted))
            self.journal = {
                "deployment": deployment.id,
                "previous": {m: before.get(m) for m in touched},
            }
            self._save()
        self._report(
            deployment,
            "installing",
            70,
            "activating "
            + (", ".join(f"{m} {v}" for m, v in sorted(wanted.items())) or "no modules"),
        )
        try:
            for module in touched:
                switch_link(self.root / "modules" / module / "current", wanted.get(module))
            for module in sorted(set(before) - set(wanted)):
                self._report(
                    deployment,
                    "installing",
                    80,
                    f"deactivated {module} {before[module]} (kept on disk)",
                )
            self._report(deployment, "verifying", 90, "verifying the active modules")
            active = self._active_modules()
            for module, version in wanted.items():
                if active.get(module) != version or not any(
                    self._version_dir(module, version).iterdir()
                ):
                    raise StepFailed(f"{module} {version} is not active after switching")
        except BaseException:
            with self.lock:
                self._roll_back()
            raise
        with self.lock:
            self.installed = configuration.installed()
            self.journal = None
            self._save()

    def _roll_back(self) -> None:
        """Put every link the journal names back as it was; call with the lock held."""
        journal = self.journal or {}
        for module, version in journal.get("previous", {}).items():
            switch_link(self.root / "modules" / module / "current", version)
        self.journal = None
        self._save()
