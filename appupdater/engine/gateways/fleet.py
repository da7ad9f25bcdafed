"""The gateway the application uses: a device with an agent endpoint is reached over HTTP(S);
a device without one is simulated (demo fleets, trials) and shown as such in the main window."""

from __future__ import annotations

from appupdater.core.jobs import DeploymentJob
from appupdater.engine.gateways.base import (
    DeviceTarget,
    Gateway,
    ProbeResult,
    Progress,
    ShouldStop,
)
from appupdater.engine.gateways.http import HttpGateway
from appupdater.engine.gateways.simulated import SimulatedGateway


class FleetGateway(Gateway):
    """Assembled by `appupdater.engine.build.build_gateway`."""

    def __init__(self, http: HttpGateway, simulated: SimulatedGateway):
        self.http = http
        self.simulated = simulated

    def probe(self, device: DeviceTarget) -> ProbeResult:
        gateway = self.http if device.connection is not None else self.simulated
        return gateway.probe(device)

    def deploy(self, job: DeploymentJob, progress: Progress, should_stop: ShouldStop) -> str:
        gateway = self.http if job.connection is not None else self.simulated
        return gateway.deploy(job, progress, should_stop)
