"""Real sockets against a real agent server, for the connection tests: a server on loopback
in a thread, clients from any 127/8 address (Linux routes all of it to loopback, so a second
address is a second client), and waiting on conditions instead of fixed sleeps."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from appupdater.agent.server import AgentServer
from appupdater.agent.state import Agent
from tests.agents import TOKEN


@contextmanager
def serving(tmp_path: Path, tls: ssl.SSLContext | None = None, **limits: Any):
    server = AgentServer(
        ("127.0.0.1", 0), Agent(tmp_path / "device", "press-07"), TOKEN, tls, **limits
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def status_answer(server: AgentServer, tls: bool = False, source: str = "") -> tuple[int, float]:
    """A well-behaved client's GET status (from the address `source`, if given): its HTTP
    status and how long it took."""
    host, port = server.server_address[:2]
    started = time.monotonic()
    source_address = (source, 0) if source else None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=10, context=context, source_address=source_address
        )
    else:
        connection = http.client.HTTPConnection(
            host, port, timeout=10, source_address=source_address
        )
    try:
        connection.request("GET", "/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
        answer = connection.getresponse()
        answer.read()
        return answer.status, time.monotonic() - started
    finally:
        connection.close()


@contextmanager
def connections() -> Iterator[Callable[..., socket.socket]]:
    """Opens client connections (non-blocking once `send` is sent, from `source` if given);
    closes them at the end."""
    opened: list[socket.socket] = []

    def open_one(server: AgentServer, send: bytes = b"", source: str = "") -> socket.socket:
        address = server.server_address[:2]
        sock = socket.create_connection(
            address, timeout=5, source_address=(source, 0) if source else None
        )
        opened.append(sock)
        if send:
            sock.sendall(send)
        sock.setblocking(False)
        return sock

    try:
        yield open_one
    finally:
        for sock in opened:
            sock.close()


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the other end closed the connection (whatever it sent before that)."""
    try:
        while data := sock.recv(65536):
            del data
        return True
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:  # reset
        return True


def wait_until(condition: Callable[[], Any], timeout: float, step=None) -> float:
    """Seconds until `condition()` held; `step()` runs between checks. Fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        if step is not None:
            step()
        time.sleep(0.05)
    return time.monotonic() - started
