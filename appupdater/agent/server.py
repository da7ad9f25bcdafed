"""The agent's HTTP(S) API (docs/agent-api.yaml, paths in `protocol.py`) and its command line.

Every request needs ``Authorization: Bearer <token>``, compared in constant time; a wrong or
missing token gets 401 and nothing else. Bodies are JSON; anything malformed (a request line,
a header, a method, a Content-Length, a body) gets a 4xx JSON answer naming it, an unexpected
error a 500 — the server thread survives either way. Each connection has its own thread, at
most `--max-connections` at once and `--max-connections-per-address` from one address, and
must send each request (and finish its TLS handshake) within `--request-timeout` seconds; it
is closed after any 4xx answer and once it has lived 10 request timeouts, so clients that hold
connections, or request in vain faster than the deadline, hold up no one else.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import io
import json
import logging
import signal
import ssl
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from appupdater.agent import AGENT_VERSION
from appupdater.agent.connections import ConnectionSlots, DeadlineReader
from appupdater.agent.files import StepFailed
from appupdater.agent.parsing import (
    BadRequest,
    NotAllowed,
    Route,
    content_length,
    json_body,
    parse_configuration,
    parse_poll_query,
    parse_route,
    split_target,
)
from appupdater.agent.protocol import Endpoint
from appupdater.agent.startup import (
    MAX_CONNECTIONS,
    REQUEST_TIMEOUT,
    StartError,
    build_parser,
    limits,
    network_warning,
    per_address_share,
    read_token,
    tls_context,
)
from appupdater.agent.state import Agent, Conflict

log = logging.getLogger("appupdater.agent")


def printable(text: str) -> str:
    """`text` with control characters escaped (\\x1b), so what a client sends can never write
    escape sequences or lines of its own into the agent's log."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


# The line format of every App Updater log (appupdater.desktop.LOG_FORMAT; the agent keeps
# its own copy, as it imports nothing of the app: tests/test_logs.py checks they agree).
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s: %(message)s"
MAX_BODY = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    server: AgentServer
    protocol_version = "HTTP/1.1"
    server_version = f"appupdater-agent/{AGENT_VERSION}"
    _body_read = False  # whether this request's body was read (or drained); see _send
    deadline = 0.0  # time.monotonic() by which the current request must have been received
    opened = 0.0  # time.monotonic() when the connection was taken
    request_timeout = REQUEST_TIMEOUT  # the server's, set for each connection

    # ---- plumbing --------------------------------------------------------------------------

    def setup(self) -> None:
        """The TLS handshake (in this connection's thread, never in the accept loop) and the
        reading side: the handshake and the first request share one deadline, each later
        request on a kept-alive connection gets its own from the answer before."""
        self.request_timeout = self.server.request_timeout
        self.opened = time.monotonic()
        self.deadline = self.opened + self.request_timeout
        super().setup()
        self.connection.settimeout(self.request_timeout)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # bound by the socket's timeout as a whole
        self.rfile.close()
        self.rfile = io.BufferedReader(DeadlineReader(self))

    def handle_one_request(self) -> None:
        self._body_read = False
        super().handle_one_request()
        self.deadline = time.monotonic() + self.request_timeout  # for the next one, if it comes

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":  # no headers, not even a token: not for us
            self.send_error(400, "HTTP/0.9 requests are not taken; use HTTP/1.1")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Problems http.server finds itself (a broken request line or header, a method with
        no do_ method) answer JSON like every other error."""
        if code == HTTPStatus.NOT_IMPLEMENTED and self.command:
            self._handle(self.command)  # an unknown method: a 405, or what path and token say
            return
        self.close_connection = True  # what follows cannot be trusted to be a request
        self._body_read = True
        if self.request_version == "HTTP/0.9":  # http.server's guess for a broken request line
            self.request_version = "HTTP/1.0"  # would leave out the status line and headers
        self._send(code, {"error": message or HTTPStatus(code).phrase})

    @property
    def shown(self) -> str:
        """The request's target as it may be logged."""
        return printable(self.path)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), printable(format % args))

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        if not self._body_read:  # what the client sent must not be taken for its next request
            self._drain()
        data = json.dumps(body).encode()
        if self.command == "HEAD":
            data = b""
        self.connection.settimeout(self.request_timeout)  # a client that does not read: let go
        if status >= 400 or time.monotonic() - self.opened >= self.server.connection_lifetime:
            # a refused client tries again on a new connection, and no connection is held
            # for ever by requesting (even in vain) faster than the deadline
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        expected = self.server.token.encode()
        # compare_digest takes the same time wherever the texts differ
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)

    def _body(self) -> Any:
        length = content_length(self.headers.get_all("Content-Length"), MAX_BODY)
        if length is None:
            raise BadRequest("a JSON body with Content-Length is required", 411)
        raw = self.rfile.read(length)
        self._body_read = True
        if len(raw) < length:
            self.close_connection = True
            raise BadRequest("the connection ended before the whole body was sent")
        return json_body(raw)

    def _drain(self) -> None:
        """Read a body nobody wants; one that cannot be read ends the connection instead."""
        self._body_read = True
        try:
            length = content_length(self.headers.get_all("Content-Length"), MAX_BODY)
        except BadRequest:
            length = None
        if length is not None:
            self.rfile.read(length)
        elif "Content-Length" in self.headers or "Transfer-Encoding" in self.headers:
            self.close_connection = True

    def _handle(self, method: str) -> None:
        try:
            if not self._authorised():
                self._send(
                    401,
                    {"error": "unauthorised"},
                    {"WWW-Authenticate": 'Bearer realm="appupdater-agent"'},
                )
                return
            self._check_content_length()
            status, body = self._route(method)
            self._send(status, body)
        except NotAllowed as exc:
            self._send(exc.status, {"error": str(exc)}, {"Allow": ", ".join(exc.allowed)})
        except BadRequest as exc:
            self._send(exc.status, {"error": str(exc)})
        except Conflict as exc:
            self._send(409, {"error": str(exc)})
        except (BrokenPipeError, ConnectionResetError) as exc:
            log.debug("%s %s: the client closed the connection (%s)", method, self.shown, exc)
        except TimeoutError as exc:  # the body did not come in time (or the answer did not go)
            log.info("%s %s from %s: %s", method, self.shown, self.address_string(), exc)
            self.close_connection = self._body_read = True
            with contextlib.suppress(OSError):
                self._send(408, {"error": str(exc)})
        except Exception as exc:  # never let a request take the agent down
            log.exception("request %s %s failed", method, self.shown)
            try:
                self._send(500, {"error": f"internal error in the agent: {exc!r}"})
            except OSError as send_error:
                log.debug(
                    "%s %s: the 500 answer could not be sent (%s)", method, self.shown, send_error
                )

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def _check_content_length(self) -> None:
        """Whatever the method, a Content-Length must be a number of bytes."""
        try:
            content_length(self.headers.get_all("Content-Length"), MAX_BODY)
        except BadRequest:
            self.close_connection = self._body_read = True  # its body cannot be found
            raise

    # ---- the API ---------------------------------------------------------------------------

    def _route(self, method: str) -> tuple[int, dict[str, Any]]:
        path, query = split_target(self.path)
        route = parse_route(path)
        route.check_method(method)
        agent = self.server.agent
        if route.endpoint is Endpoint.STATUS:
            return 200, agent.status()
        if route.endpoint is Endpoint.CANCEL:
            return 200, self._found(route, agent.cancel(route.deployment_id))
        if method == "PUT":
            configuration = parse_configuration(self._body())
            created, body = agent.put(route.deployment_id, configuration)
            return (201 if created else 200), body
        poll = parse_poll_query(query)
        return 200, self._found(route, agent.get(route.deployment_id, poll.log_after, poll.wait))

    @staticmethod
    def _found(route: Route, body: dict[str, Any] | None) -> dict[str, Any]:
        if body is None:
            raise BadRequest(f"no deployment {route.deployment_id} on this device", 404)
        return body


class AgentServer(ThreadingHTTPServer):
    """Serves each connection in its own thread, at most `max_connections` at once and
    `max_per_address` from one address (more are closed as they come); a connection must send
    each request, and finish its TLS handshake, within `request_timeout` seconds, and is closed
    after the answer to a request that was refused (4xx) or that came after
    `connection_lifetime` seconds (10 request timeouts unless said)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        agent: Agent,
        token: str,
        tls: ssl.SSLContext | None = None,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        max_per_address: int | None = None,
        connection_lifetime: float | None = None,
    ):
        super().__init__(address, Handler)
        self.agent = agent
        self.token = token
        self.tls = tls
        self.request_timeout = request_timeout
        self.connection_lifetime = connection_lifetime or 10 * request_timeout
        self.max_connections = max_connections
        self.max_per_address = max_per_address or per_address_share(max_connections)
        self._slots = ConnectionSlots(max_connections, self.max_per_address)
        if tls is not None:
            # the handshake happens in the request thread, so a slow client cannot hold up accept()
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.take(client_address[0]):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # starts the connection's thread
        except BaseException:
            self._slots.give_back(client_address[0])
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.give_back(client_address[0])

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["init"]:  # appupdater-agent init --state DIR: prepare a device's agent
        from appupdater.agent import init_command  # here: the one change for `init`

        return init_command.main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=LOG_FORMAT,
        stream=sys.stderr,
    )
    try:
        token = read_token(args.token_file)
        tls = tls_context(args.cert, args.key, args.insecure_http)
        agent = Agent(
            Path(args.state),
            args.device,
            args.download_timeout,
            limits=limits(args),
            keep_versions=args.keep_versions,
            health_timeout=args.health_timeout,
            hook_timeout=args.hook_timeout,
        )
        server = AgentServer(
            (args.listen, args.port),
            agent,
            token,
            tls,
            request_timeout=args.request_timeout,
            max_connections=args.max_connections,
            max_per_address=args.max_connections_per_address,
        )
    except (StartError, StepFailed) as exc:  # StepFailed: state.json cannot be written
        print(f"appupdater-agent: {exc}", file=sys.stderr)
        return 1
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        state_file = Path(args.state) / "state.json"
        print(
            f"appupdater-agent: the state file {state_file} is damaged ({exc!r}); move it "
            "aside to start afresh (the module versions on disk stay)",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:  # the state folder, the address
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"appupdater-agent: cannot start: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    with server:
        return _serve(server, agent, args)


def _serve(server: AgentServer, agent: Agent, args: argparse.Namespace) -> int:
    address, port = server.server_address[:2]
    if args.port_file:
        Path(args.port_file).write_text(str(port), encoding="utf-8")
    scheme = "https" if server.tls else "http"
    log.info("appupdater-agent %s listening on %s://%s:%d", AGENT_VERSION, scheme, address, port)
    if not server.tls and (warning := network_warning(str(address))):
        log.warning(warning)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    agent.resume()
    server.serve_forever(poll_interval=0.2)
    log.info("appupdater-agent stopped")
    return 0
