"""The HTTP(S) gateway: deploys through the device agent's API (docs/agent-api.yaml).

One deployment is a PUT of the device's whole configuration under an id made of the run and the
deployment (so a repeated PUT — a lost answer, a retry — never runs it twice), then long polls of
its state whose phase, progress and log lines are relayed into the deployment's own. Cancel,
timeout and quit ask the agent to cancel, which rolls the device back. Errors say what happened
in words: "press-07 refused the token", "press-07 unreachable at https://10.0.3.7:8443
(connection refused)".
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import json
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from appupdater.core.jobs import Connection, DeploymentJob
from appupdater.engine.gateways.base import (
    DeviceTarget,
    Gateway,
    ProbeResult,
    Progress,
    ShouldStop,
    Stopped,
)
from appupdater.errors import AgentError, DeviceRejected, DeviceUnreachable, GatewayError
from appupdater.store.models import DeploymentPhase

PHASES = {p.value for p in DeploymentPhase}
_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
    errno.ECONNRESET: "connection reset",
    errno.ETIMEDOUT: "timed out",
}


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return "unknown host name"
    if isinstance(exc, OSError) and exc.errno in _REASONS:
        return _REASONS[exc.errno]
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionError):
        return "the connection was closed"
    return str(exc) or type(exc).__name__


class AgentClient:
    """Requests to one device's agent over one kept-alive connection (reopened when lost)."""

    def __init__(self, device: str, connection: Connection, timeout: float = 10.0):
        self.device = device
        self.connection = connection
        self.timeout = timeout
        url = urlsplit(connection.endpoint)
        self.https = url.scheme == "https"
        self.host = url.hostname or ""
        self.port = url.port or (443 if self.https else 80)
        self._http: http.client.HTTPConnection | None = None

    # ---- connection ----------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        if self.connection.fingerprint:
            # pinned: the certificate itself is the trust, checked after the handshake
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = ssl.create_default_context(cafile=self.connection.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def _open(self, timeout: float) -> http.client.HTTPConnection:
        if self._http is not None:
            self._http.timeout = timeout
            if self._http.sock is not None:
                self._http.sock.settimeout(timeout)
            return self._http
        if self.https:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=self._context()
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn.connect()
        if self.https and self.connection.fingerprint:
            der = conn.sock.getpeercert(binary_form=True) or b""
            if hashlib.sha256(der).hexdigest() != self.connection.fingerprint:
                conn.close()
                raise DeviceRejected(
                    f"{self.device} at {self.connection.endpoint} presented a certificate that "
                    "does not match its pinned fingerprint"
                )
        self._http = conn
        return conn

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    # ---- requests --------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> tuple[int, dict]:
        """(status, JSON answer) of a 2xx answer; any other outcome raises a GatewayError
        whose text names the device and what happened."""
        timeout = timeout or self.timeout
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.connection.token or ''}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for reuse in (True, False):  # a kept-alive connection the agent closed: once more
            try:
                conn = self._open(timeout)
                conn.request(method, path, body=data, headers=headers)
                answer = conn.getresponse()
                raw = answer.read()
                break
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise DeviceRejected(
                    f"{self.device} at {self.connection.endpoint} presented a certificate that "
                    f"is not trusted ({exc.verify_message})"
                ) from exc
            except (OSError, http.client.HTTPException) as exc:
                was_open = self._http is not None and reuse
                self.close()
                if was_open and isinstance(
                    exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                ):
                    continue
                raise DeviceUnreachable(
                    f"{self.device} unreachable at {self.connection.endpoint} "
                    f"({_reason(exc, timeout)})"
                ) from exc
        if answer.will_close:
            self.close()
        status = answer.status
        try:
            parsed = json.loads(raw) if raw else {}
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            snippet = raw[:60].decode("utf-8", "replace")
            raise AgentError(
                f"{self.device} sent an answer that is not JSON (HTTP {status}: {snippet!r})"
            ) from exc
        text = str(parsed.get("error", "")) or answer.reason
        if status == 401:
            raise DeviceRejected(f"{self.device} refused the token")
        if status >= 500:
            raise AgentError(f"{self.device} answered HTTP {status}: {text}")
        if status == 409:
            raise AgentError(f"{self.device} is busy: {text}")
        if status >= 400:
            raise DeviceRejected(f"{self.device} refused the request (HTTP {status}): {text}")
        return status, parsed


def configuration_of(job: DeploymentJob) -> dict:
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
                {
                    "name": module.name,
                    "version": module.version,
                    "url": module.artifact_url,
                    "sha256": module.artifact_sha256,
                }
            )
        applications.append({"name": app.application, "version": app.version, "modules": modules})
    return {"applications": applications}


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
        client = AgentClient(device.name, device.connection, self.timeout)
        try:
            _, status = client.request("GET", "/v1/status")
        except GatewayError as exc:
            return ProbeResult(False, message=str(exc))
        finally:
            client.close()
        installed = {}
        for name, app in (status.get("installed") or {}).items():
            if isinstance(app, dict) and isinstance(app.get("version"), str):
                installed[str(name)] = app["version"]
        return ProbeResult(True, installed)

    def deploy(self, job: DeploymentJob, progress: Progress, should_stop: ShouldStop) -> str:
        if job.connection is None:
            raise DeviceRejected(f"{job.device} has no endpoint to deploy to")
        body = configuration_of(job)
        client = AgentClient(job.device, job.connection, self.timeout)
        path = f"/v1/deployments/r{job.run_id}-d{job.id}"
        try:
            progress(DeploymentPhase.CONNECTING, 0, f"connecting to {job.connection.endpoint}")
            if should_stop():
                raise Stopped()
            _, answer = client.request("PUT", path, body)
            log_after = 0
            last_contact = time.monotonic()
            while True:
                log_after = self._relay(answer, log_after, progress)
                state = answer.get("state")
                if state == "succeeded":
                    return f"deployed to {job.device}: {answer.get('message', '')}".rstrip(": ")
                if state == "failed":
                    raise DeviceRejected(
                        f"{job.device}: {answer.get('message', 'failed')}",
                        transient=bool(answer.get("transient")),
                    )
                if state == "cancelled":
                    raise DeviceRejected(
                        f"{job.device}: the deployment was cancelled on the device"
                    )
                if should_stop():
                    self._cancel(client, path)
                    raise Stopped()
                try:
                    _, answer = client.request(
                        "GET",
                        f"{path}?log_after={log_after}&wait={self.poll_wait:g}",
                        timeout=self.timeout + self.poll_wait,
                    )
                    last_contact = time.monotonic()
                except DeviceUnreachable:
                    # an agent restarting picks the deployment up again: wait a little for it
                    if time.monotonic() - last_contact > self.reconnect_grace:
                        raise
                    self._pause(0.5, should_stop)
        finally:
            client.close()

    def _relay(self, answer: dict, log_after: int, progress: Progress) -> int:
        phase = answer.get("phase") or DeploymentPhase.CONNECTING
        if phase not in PHASES:
            phase = DeploymentPhase.INSTALLING
        percent = answer.get("progress") or 0
        lines = answer.get("log") or []
        for line in lines:
            if isinstance(line, dict):
                progress(phase, percent, f"{line.get('level', 'info')}: {line.get('message', '')}")
        progress(phase, percent, None)
        total = answer.get("log_total")
        return total if isinstance(total, int) else log_after + len(lines)

    def _cancel(self, client: AgentClient, path: str) -> None:
        """Ask the agent to cancel and wait (a while) for it to have rolled back."""
        deadline = time.monotonic() + self.cancel_wait
        try:
            _, answer = client.request("POST", f"{path}/cancel")
            while answer.get("state") == "running" and time.monotonic() < deadline:
                _, answer = client.request("GET", f"{path}?wait=1", timeout=self.timeout + 1)
        except GatewayError:
            pass  # unreachable now: the agent rolls back on its own once it sees the cancel

    @staticmethod
    def _pause(seconds: float, should_stop: ShouldStop) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not should_stop():
            time.sleep(0.05)
