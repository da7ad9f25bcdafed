"""What every gateway offers. The errors it raises are `appupdater.errors.GatewayError`s."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from appupdater.core.jobs import Connection, DeploymentJob
from appupdater.store.models import Labels

# (phase, percent 0-100, optional message for the event log)
Progress = Callable[[str, float, str | None], None]
ShouldStop = Callable[[], bool]


class Stopped(Exception):
    """The gateway stopped because `should_stop()` said so (cancel, timeout or quit), and the
    device is known to run nothing of the attempt any more; `how` says so in words."""

    def __init__(self, how: str = "the device stopped"):
        super().__init__(how)
        self.how = how


class StopUnconfirmed(Exception):
    """The gateway was to stop, but the device did not confirm it stopped (unreachable, or
    still running when asked): it may still finish the attempt. The message says why."""


@dataclass(frozen=True)
class DeviceTarget:
    """What a gateway needs to reach one device."""

    name: str
    labels: Labels = field(default_factory=dict)
    connection: Connection | None = None


@dataclass(frozen=True)
class ProbeResult:
    """What a device says about itself: reachable or not, and what it runs (application name
    to version) when it could tell; an agent also names its active module versions and each
    one's health ("healthy", "unhealthy: <what its health hook said>", "unknown")."""

    online: bool
    installed: dict[str, str] = field(default_factory=dict)
    message: str = ""
    modules: dict[str, str] = field(default_factory=dict)  # module -> active version
    health: dict[str, str] = field(default_factory=dict)  # module -> health


class Gateway(ABC):
    """Talks to devices. Called from worker threads; must not touch Qt widgets."""

    @abstractmethod
    def probe(self, device: DeviceTarget) -> ProbeResult:
        """Ask the device whether it is reachable and what it runs; never raises for an
        unreachable device (that is `online=False` with the reason in `message`)."""

    @abstractmethod
    def deploy(self, job: DeploymentJob, progress: Progress, should_stop: ShouldStop) -> str:
        """Push the job's whole configuration to its device; return a closing message.
        Call `progress` as phases advance; check `should_stop` often and raise `Stopped` once
        the device stopped, `StopUnconfirmed` when it could not be told or did not confirm.
        A job that is `cancelling` is not pushed: its device is asked to stop the attempt an
        earlier one started (same deployment), and the answer ends it as above — or, when the
        device had finished it before, as that end."""
