"""The one HTTP(S) client of a device agent (docs/agent-api.yaml): the gateway and the demo
both talk to agents through it.

It keeps one connection alive per agent (reopened when lost), trusts the agent's certificate
through a CA file or a pinned SHA-256 fingerprint, and turns every outcome that is not a 2xx
into a `GatewayError` that names the device and what happened, in words: "press-07 refused the
token", "press-07 unreachable at https://10.0.3.7:8443 (connection refused)".
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import json
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from appupdater.agent.protocol import (
    Configuration,
    DeploymentAnswer,
    Status,
    cancel_path,
    deployment_path,
    poll_path,
    status_path,
)
from appupdater.core.jobs import Connection
from appupdater.errors import AgentError, DeviceRejected, DeviceUnreachable, UnknownDeployment

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
    """Requests to one device's agent over one kept-alive connection (reopened when lost).
    Use it as a context manager, or `close()` it, so the connection does not linger."""

    def __init__(self, device: str, connection: Connection, timeout: float = 10.0):
        self.device = device
        self.connection = connection
        self.timeout = timeout
        url = urlsplit(connection.endpoint)
        self.https = url.scheme == "https"
        self.host = url.hostname or ""
        self.port = url.port or (443 if self.https else 80)
        self._http: http.client.HTTPConnection | None = None

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- the API -------------------------------------------------------------------------

    def status(self) -> Status:
        return Status.from_json(self._request("GET", status_path()))

    def put(self, deployment_id: str, configuration: Configuration) -> DeploymentAnswer:
        """Start the deployment (or, under a known id, hear how it is doing)."""
        return DeploymentAnswer.from_json(
            self._request("PUT", deployment_path(deployment_id), configuration.to_json())
        )

    def poll(self, deployment_id: str, log_after: int = 0, wait: float = 0.0) -> DeploymentAnswer:
        """The deployment's state and log lines after `log_after`; the agent may hold the answer
        `wait` seconds, which this request waits for on top of its timeout."""
        answer = self._request(
            "GET", poll_path(deployment_id, log_after, wait), timeout=self.timeout + wait
        )
        return DeploymentAnswer.from_json(answer, log_after)

    def cancel(self, deployment_id: str) -> DeploymentAnswer:
        return DeploymentAnswer.from_json(self._request("POST", cancel_path(deployment_id)))

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
        conn: http.client.HTTPConnection
        if self.https:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=self._context()
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn.connect()
        if self.https and self.connection.fingerprint and isinstance(conn.sock, ssl.SSLSocket):
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

    def _request(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """The JSON answer of a 2xx answer; any other outcome raises a GatewayError whose text
        names the device and what happened."""
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
        if status == 404:
            raise UnknownDeployment(f"{self.device} has no such deployment (HTTP 404): {text}")
        if status >= 400:
            raise DeviceRejected(f"{self.device} refused the request (HTTP {status}): {text}")
        return parsed
