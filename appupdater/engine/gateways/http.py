"""The HTTP(S) gateway: deploys through the device agent's API (docs/agent-api.yaml).

One deployment is a PUT of the device's whole configuration under an id made of the run and the
deployment (so a repeated PUT — a lost answer, a retry — never runs it twice), then long polls of
its state whose phase, progress and log lines are relayed into the deployment's own. Cancel,
timeout and quit ask the agent to cancel, which rolls the device back; the attempt counts as
stopped only once the agent says so (or never had it), else it may still finish on the device
and the engine asks again later (see `HttpGateway._stop`). The requests themselves,
and their errors in words, are `agent_client.AgentClient`'s.
"""

from __future__ import annotations

import logging
import time

from appupdater.agent.protocol import (
    AppRef,
    Configuration,
    DeploymentAnswer,
    DeploymentState,
    ModuleRef,
    Phase,
    run_deployment_id,
)
from appupdater.core.jobs import DeploymentJob
from appupdater.engine.gateways.agent_client import AgentClient
from appupdater.engine.gateways.base import (
    DeviceTarget,
    Gateway,
    ProbeResult,
    Progress,
    ShouldStop,
    Stopped,
    StopUnconfirmed,
)
from appupdater.errors import DeviceRejected, DeviceUnreachable, GatewayError, UnknownDeployment
from appupdater.store.models import DeploymentPhase

log = logging.getLogger("appupdater.engine")


def configuration_of(job: DeploymentJob) -> Configuration:
    """The device's whole configuration as the agent takes it."""
    applications = []
    for app in job.config:
        modules = []
        for module in app.modules:
            if not module.artifact_url or not module.artifact_sha256:
                raise DeviceRejected(
                    f"{module.name} {module.version} of {app.application} {app.version} has no "
                    f"artifact (url and sha256 in the fleet file), so it cannot go to {job.device}"
                )
            modules.append(
                ModuleRef(module.name, module.version, module.artifact_url, module.artifact_sha256)
            )
        applications.append(AppRef(app.application, app.version, tuple(modules)))
    return Configuration(tuple(applications))


def _phase(answer: DeploymentAnswer) -> DeploymentPhase:
    """The workstation's phase for the agent's: none yet is still connecting, and a phase this
    workstation does not know is some kind of installing."""
    if answer.phase is None:
        return DeploymentPhase.INSTALLING
    if answer.phase is Phase.NONE:
        return DeploymentPhase.CONNECTING
    return DeploymentPhase(answer.phase.value)


class HttpGateway(Gateway):
    """Deploys to and probes device agents."""

    def __init__(
        self,
        timeout: float = 10.0,
        poll_wait: float = 1.0,
        reconnect_grace: float = 30.0,
        cancel_wait: float = 15.0,
    ):
        self.timeout = timeout  # for one request (a long poll adds its wait)
        self.poll_wait = poll_wait  # how long the agent may hold a poll open
        self.reconnect_grace = reconnect_grace  # an agent restarting mid-deployment
        self.cancel_wait = cancel_wait  # for the agent to roll back after a cancel

    def probe(self, device: DeviceTarget) -> ProbeResult:
        if device.connection is None:
            return ProbeResult(False, message=f"{device.name} has no endpoint")
        try:
            with AgentClient(device.name, device.connection, self.timeout) as client:
                status = client.status()
        except GatewayError as exc:
            return ProbeResult(False, message=str(exc))
        modules = {str(m): v for m, v in status.active_modules.items() if isinstance(v, str)}
        return ProbeResult(True, status.versions(), modules=modules, health=status.health)

    def deploy(self, job: DeploymentJob, progress: Progress, should_stop: ShouldStop) -> str:
        if job.connection is None:
            raise DeviceRejected(f"{job.device} has no endpoint to deploy to")
        deployment_id = run_deployment_id(job.run_id, job.id)
        configuration = None if job.cancelling else configuration_of(job)
        with AgentClient(job.device, job.connection, self.timeout) as client:
            if configuration is None:
                progress(
                    DeploymentPhase.CONNECTING,
                    0,
                    f"asking {job.device} at {job.connection.endpoint} to stop the deployment",
                )
                answer = self._stop(client, deployment_id)
            else:
                progress(DeploymentPhase.CONNECTING, 0, f"connecting to {job.connection.endpoint}")
                if should_stop():
                    raise Stopped("stopped before the device was contacted")
                answer = client.put(deployment_id, configuration)
            log_after = 0
            last_contact = time.monotonic()
            while True:
                log_after = self._relay(answer, progress)
                if answer.state is DeploymentState.SUCCEEDED:
                    return f"deployed to {job.device}: {answer.message}".rstrip(": ")
                if answer.state is DeploymentState.FAILED:
                    raise DeviceRejected(
                        f"{job.device}: {answer.message or 'failed'}", transient=answer.transient
                    )
                if answer.state is DeploymentState.CANCELLED:
                    if job.cancelling or should_stop():
                        raise Stopped(f"{job.device} confirmed it stopped and rolled back")
                    raise DeviceRejected(
                        f"{job.device}: the deployment was cancelled on the device"
                    )
                if should_stop():
                    answer = self._stop(client, deployment_id)
                    continue  # its end, as the device tells it
                try:
                    answer = client.poll(deployment_id, log_after, self.poll_wait)
                    last_contact = time.monotonic()
                except DeviceUnreachable as exc:
                    # an agent restarting picks the deployment up again: wait a little for it
                    if time.monotonic() - last_contact > self.reconnect_grace:
                        raise DeviceUnreachable(
                            f"{exc}; it had taken the deployment and may still finish it"
                        ) from exc
                    self._pause(0.5, should_stop)

    @staticmethod
    def _relay(answer: DeploymentAnswer, progress: Progress) -> int:
        """Pass the answer's phase, progress and new log lines on; the log lines seen so far."""
        phase = _phase(answer)
        for line in answer.log:
            progress(phase, answer.progress, f"{line.level}: {line.message}")
        progress(phase, answer.progress, None)
        return answer.log_total

    def _stop(self, client: AgentClient, deployment_id: str) -> DeploymentAnswer:
        """Ask the agent to cancel and wait (a while) for the deployment to end: the answer
        with its end (cancelled, or succeeded or failed when it ended before the cancel came).
        Raises `Stopped` when the agent never had it, `StopUnconfirmed` when it could not be
        asked or was still running after `cancel_wait`: it may still finish."""
        deadline = time.monotonic() + self.cancel_wait
        try:
            answer = client.cancel(deployment_id)
            while answer.state is DeploymentState.RUNNING and time.monotonic() < deadline:
                answer = client.poll(deployment_id, wait=1)
        except UnknownDeployment as exc:
            raise Stopped(f"{client.device} never started it") from exc
        except GatewayError as exc:
            raise StopUnconfirmed(f"{client.device} could not be asked to stop: {exc}") from exc
        if answer.state is DeploymentState.RUNNING:
            raise StopUnconfirmed(
                f"{client.device} was still running it {self.cancel_wait:g} s after the cancel"
            )
        return answer

    @staticmethod
    def _pause(seconds: float, should_stop: ShouldStop) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not should_stop():
            time.sleep(0.05)
