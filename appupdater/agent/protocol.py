"""The agent's API as both ends speak it (docs/agent-api.yaml): where things are, the states a
deployment goes through, and the JSON of a configuration, a deployment answer and a status.

The agent, the workstation's HTTP gateway and the demo import it, so a path or a state is spelled
once. Standard library only, because it runs on the device. Checking a request field by field is
`parsing.py`, the agent's side alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

API_PREFIX = "/v1"
STATUS = "status"
DEPLOYMENTS = "deployments"
CANCEL = "cancel"
LOG_AFTER = "log_after"
WAIT = "wait"
MAX_WAIT = 30.0  # seconds an agent holds a long poll at most

E = TypeVar("E", bound=enum.Enum)


class Endpoint(enum.Enum):
    """What the API serves; `methods` are those the document gives it (others get 405)."""

    STATUS = "status"
    DEPLOYMENT = "deployment"
    CANCEL = "cancel"

    @property
    def methods(self) -> tuple[str, ...]:
        return _METHODS[self]


_METHODS = {
    Endpoint.STATUS: ("GET",),
    Endpoint.DEPLOYMENT: ("GET", "PUT"),
    Endpoint.CANCEL: ("POST",),
}


def status_path() -> str:
    return f"{API_PREFIX}/{STATUS}"


def deployment_path(deployment_id: str) -> str:
    return f"{API_PREFIX}/{DEPLOYMENTS}/{deployment_id}"


def cancel_path(deployment_id: str) -> str:
    return f"{deployment_path(deployment_id)}/{CANCEL}"


def poll_path(deployment_id: str, log_after: int = 0, wait: float = 0.0) -> str:
    """The long poll of a deployment: its log lines after `log_after` (the previous answer's
    `log_total`), the answer held up to `wait` seconds until something changes."""
    query = urlencode({LOG_AFTER: log_after, WAIT: f"{wait:g}"})
    return f"{deployment_path(deployment_id)}?{query}"


def run_deployment_id(run_id: int, deployment_id: int) -> str:
    """The id the workstation deploys under: one per (run, deployment), so a repeated PUT (a
    lost answer, a retry) is answered by the agent instead of run twice."""
    return f"r{run_id}-d{deployment_id}"


class DeploymentState(enum.StrEnum):
    """Where a deployment on the agent is; every state but `running` is final."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self is not DeploymentState.RUNNING


class Phase(enum.StrEnum):
    """The step a running deployment is at; `NONE` before its first step and after its end."""

    NONE = ""
    DOWNLOADING = "downloading"
    INSTALLING = "installing"
    VERIFYING = "verifying"


class LogLevel(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def _texts(value: Any) -> dict[str, str]:
    """A JSON object of texts (module -> health) as sent; anything else is empty."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _known(kind: type[E], value: Any) -> E | None:
    """The member of `kind` with this value, or None for a value this side does not know."""
    try:
        return kind(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class LogLine:
    """One line of a deployment's log; the workstation relays it into its own event log."""

    at: str
    level: LogLevel
    message: str

    def to_json(self) -> dict[str, str]:
        return {"at": self.at, "level": self.level.value, "message": self.message}

    @classmethod
    def from_json(cls, data: Any) -> LogLine | None:
        """A line as sent, or None if it is not one; a level this side does not know is info."""
        if not isinstance(data, dict):
            return None
        level = data.get("level")
        return cls(
            str(data.get("at", "")),
            _known(LogLevel, level) or LogLevel.INFO,
            str(data.get("message", "")),
        )


@dataclass(frozen=True)
class ModuleRef:
    """One module version of a configuration and the artifact it is unpacked from."""

    name: str
    version: str
    url: str
    sha256: str


@dataclass(frozen=True)
class AppRef:
    """One application of a configuration, with its modules in their order."""

    name: str
    version: str
    modules: tuple[ModuleRef, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "modules", tuple(self.modules))  # equal whatever was passed


@dataclass(frozen=True)
class Configuration:
    """A device's whole configuration: every application and module it should run. Built from
    plain values by the workstation, parsed (`parsing.parse_configuration`) by the agent."""

    applications: tuple[AppRef, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "applications", tuple(self.applications))

    @property
    def modules(self) -> tuple[ModuleRef, ...]:
        return tuple(m for a in self.applications for m in a.modules)

    def to_json(self) -> dict[str, Any]:
        return {
            "applications": [
                {
                    "name": a.name,
                    "version": a.version,
                    "modules": [
                        {"name": m.name, "version": m.version, "url": m.url, "sha256": m.sha256}
                        for m in a.modules
                    ],
                }
                for a in self.applications
            ]
        }

    def installed(self) -> dict[str, Any]:
        """What the device runs once this configuration is active (a status's `installed`)."""
        return {
            a.name: {"version": a.version, "modules": {m.name: m.version for m in a.modules}}
            for a in self.applications
        }


@dataclass(frozen=True)
class DeploymentAnswer:
    """A deployment as the workstation reads the agent's answer about it. Tolerant: a state or
    phase this side does not know is None, so a newer agent is polled on, not misread."""

    state: DeploymentState | None
    phase: Phase | None
    progress: int
    message: str
    transient: bool
    log: tuple[LogLine, ...]
    log_total: int
    health: dict[str, str] = field(default_factory=dict)  # module -> health once activated

    @classmethod
    def from_json(cls, data: dict[str, Any], log_after: int = 0) -> DeploymentAnswer:
        """`log_after` is what was asked for: without a `log_total`, the lines count from it."""
        state, phase = data.get("state"), data.get("phase") or ""
        progress = data.get("progress")
        lines = data.get("log")
        log = tuple(
            line for line in (LogLine.from_json(item) for item in (lines or [])) if line is not None
        )
        total = data.get("log_total")
        return cls(
            _known(DeploymentState, state),
            _known(Phase, phase),
            int(progress) if isinstance(progress, int | float) else 0,
            str(data.get("message") or ""),
            bool(data.get("transient")),
            log,
            total if isinstance(total, int) else log_after + len(lines or []),
            _texts(data.get("health")),
        )


@dataclass(frozen=True)
class Status:
    """What the agent says about itself (`GET status`)."""

    agent_version: str
    device: str
    installed: dict[str, Any]  # application -> {"version": ..., "modules": {module: version}}
    active_modules: dict[str, str]
    deployment_in_progress: str | None
    health: dict[str, str] = field(default_factory=dict)  # active module -> health

    def to_json(self) -> dict[str, Any]:
        return {
            "agent_version": self.agent_version,
            "device": self.device,
            "installed": self.installed,
            "active_modules": self.active_modules,
            "deployment_in_progress": self.deployment_in_progress,
            "health": self.health,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Status:
        """Tolerant of what is missing or malformed: an old or odd agent is still probed."""
        installed, active = data.get("installed"), data.get("active_modules")
        in_progress = data.get("deployment_in_progress")
        return cls(
            str(data.get("agent_version", "")),
            str(data.get("device", "")),
            installed if isinstance(installed, dict) else {},
            active if isinstance(active, dict) else {},
            in_progress if isinstance(in_progress, str) else None,
            _texts(data.get("health")),
        )

    def versions(self) -> dict[str, str]:
        """application -> installed version, for the applications the status names well."""
        return {
            str(name): app["version"]
            for name, app in self.installed.items()
            if isinstance(app, dict) and isinstance(app.get("version"), str)
        }
