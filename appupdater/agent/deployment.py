"""One deployment as the agent keeps it: in memory, in state.json, and as the API shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from appupdater.agent.parsing import parse_configuration
from appupdater.agent.protocol import Configuration, DeploymentState, LogLevel, LogLine, Phase

MAX_LOG = 500  # lines kept per deployment


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Deployment:
    """A deployment's state, phase, progress and log; changed by the Agent under its lock."""

    id: str
    configuration: Configuration
    state: DeploymentState = DeploymentState.RUNNING
    phase: Phase = Phase.DOWNLOADING
    progress: int = 0
    message: str = ""
    transient: bool = False
    log: list[LogLine] = field(default_factory=list)
    attempts: int = 1
    started_at: str = field(default_factory=now)
    finished_at: str | None = None
    health: dict[str, str] = field(default_factory=dict)  # module -> health once activated

    def add_log(self, level: LogLevel, text: str) -> None:
        self.log.append(LogLine(now(), level, text))
        del self.log[:-MAX_LOG]

    def mark(self) -> tuple[DeploymentState, Phase, int, int]:
        """What a long poll waits to see change."""
        return (self.state, self.phase, self.progress, len(self.log))

    def to_json(self, log_after: int = 0) -> dict[str, Any]:
        """The API's Deployment (docs/agent-api.yaml) with the log lines after `log_after`;
        with them all, it is also the deployment's entry in state.json."""
        return {
            "id": self.id,
            "state": self.state.value,
            "phase": self.phase.value,
            "progress": self.progress,
            "message": self.message,
            "transient": self.transient,
            "attempts": self.attempts,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "configuration": self.configuration.to_json(),
            "log": [line.to_json() for line in self.log[log_after:]],
            "log_total": len(self.log),
            "health": self.health,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        """From state.json, which an agent of this or an earlier version wrote."""
        return cls(
            data["id"],
            parse_configuration(data["configuration"], stored=True),  # by this or an older agent
            DeploymentState(data["state"]),
            Phase(data.get("phase") or ""),
            int(data.get("progress", 0)),
            data.get("message", ""),
            bool(data.get("transient", False)),
            [line for line in map(LogLine.from_json, data.get("log", [])) if line is not None],
            int(data.get("attempts", 1)),
            data.get("started_at") or now(),
            data.get("finished_at"),
            {str(m): str(h) for m, h in (data.get("health") or {}).items()},
        )
