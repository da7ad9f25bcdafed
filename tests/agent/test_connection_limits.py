"""One client cannot hold the agent's connections: every 4xx answer (a 401 first of all) ends
its connection, one address gets only a share of the connection slots, and a kept-alive
connection is closed after its lifetime. Real sockets against a real agent server; a second
client comes from 127.0.0.2 (Linux routes all of 127/8 to loopback)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import time

import pytest

from appupdater.agent.connections import ConnectionSlots, address_key
from appupdater.agent.server import AgentServer
from appupdater.core.jobs import Connection
from appupdater.engine.gateways.agent_client import AgentClient
from appupdater.errors import DeviceRejected
from tests.agent.sockets import closed_by_peer, connections, serving, status_answer, wait_until
from tests.agents import TOKEN

AUTH = f"Authorization: Bearer {TOKEN}\r\n"
UNAUTHENTICATED = b"GET /v1/status HTTP/1.1\r\nHost: agent\r\n\r\n"


def answer_on(sock: socket.socket, raw: bytes, method: str = "GET") -> http.client.HTTPResponse:
    sock.sendall(raw)
    answer = http.client.HTTPResponse(sock, method=method)
    answer.begin()
    answer.read()
    return answer


@pytest.mark.parametrize(
    ("raw", "method", "expected"),
    [
        (UNAUTHENTICATED, "GET", 401),
        (f"GET /v1/status HTTP/1.1\r\nAuthorization: Bearer wrong-{TOKEN}\r\n\r\n", "GET", 401),
        (f"GET /v1/nothing HTTP/1.1\r\n{AUTH}\r\n", "GET", 404),
        (f"GET /v1/deployments/d9 HTTP/1.1\r\n{AUTH}\r\n", "GET", 404),
        (f"GET /v1/deployments/d9?wait=x HTTP/1.1\r\n{AUTH}\r\n", "GET", 400),
        (f"HEAD /v1/status HTTP/1.1\r\n{AUTH}\r\n", "HEAD", 405),
        (f"PUT /v1/deployments/d9 HTTP/1.1\r\n{AUTH}Content-Length: 2\r\n\r\n[]", "PUT", 400),
    ],
    ids=[
        "no token",
        "wrong token",
        "unknown path",
        "unknown deployment",
        "bad query",
        "HEAD",
        "bad body",
    ],
)
def test_every_4xx_answer_closes_the_connection(tmp_path, raw, method, expected):
    with (
        serving(tmp_path) as server,
        socket.create_connection(server.server_address[:2], timeout=5) as sock,
    ):
        data = raw.encode() if isinstance(raw, str) else raw
        answer = answer_on(sock, data, method)
        assert answer.status == expected
        assert answer.headers["Connection"] == "close"
        assert sock.recv(1) == b""  # closed by the agent, not left for the next request


def test_an_answer_that_went_well_keeps_the_connection(tmp_path):
    with (
        serving(tmp_path) as server,
        socket.create_connection(server.server_address[:2], timeout=5) as sock,
    ):
        for _ in range(3):
            answer = answer_on(sock, f"GET /v1/status HTTP/1.1\r\n{AUTH}\r\n".encode())
            assert answer.status == 200
            assert answer.headers["Connection"] is None


def test_abusive_clients_from_one_address_cannot_keep_another_out(tmp_path):
    """The review's attack: 4 kept-alive connections (the whole bound) each sending a complete
    unauthenticated request well within the deadline, reopened when closed. A client from
    another address is served every time."""
    with (
        serving(tmp_path, request_timeout=3.0, max_connections=4) as server,
        connections() as connect,
    ):
        assert server.max_per_address == 2
        abusers: list[socket.socket] = []

        def abuse() -> None:
            for sock in list(abusers):
                if closed_by_peer(sock):  # reads whatever answer came, too
                    abusers.remove(sock)
            while len(abusers) < 4:
                abusers.append(connect(server, source="127.0.0.1"))
            for sock in abusers:
                with contextlib.suppress(OSError):  # closed meanwhile: opened again next round
                    sock.send(UNAUTHENTICATED)

        abuse()
        wait_until(lambda: sum(closed_by_peer(sock) for sock in abusers) >= 2, 5)
        for _ in range(15):
            abuse()
            assert status_answer(server, source="127.0.0.2")[0] == 200


def test_one_address_holds_only_its_share_of_the_connections(tmp_path):
    with (
        serving(tmp_path, request_timeout=30.0, max_connections=8) as server,
        connections() as connect,
    ):
        assert server.max_per_address == 2
        idle = [connect(server, source="127.0.0.1") for _ in range(6)]
        wait_until(lambda: sum(closed_by_peer(sock) for sock in idle) >= 4, 5)
        assert sum(not closed_by_peer(sock) for sock in idle) == 2  # held until their deadline
        others = [connect(server, source="127.0.0.3") for _ in range(2)]
        assert status_answer(server, source="127.0.0.2")[0] == 200
        assert not any(closed_by_peer(sock) for sock in others)
        for sock in idle:
            sock.close()
        # the address's slots come back once the server has seen its connections go; until
        # then a new one of that address is still closed unanswered
        wait_until(lambda: answered_ok(server, "127.0.0.1"), 5)


def answered_ok(server, source: str) -> bool:
    try:
        return status_answer(server, source=source)[0] == 200
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return False


@pytest.mark.parametrize(
    ("max_connections", "per_address"), [(64, 16), (8, 2), (4, 2), (2, 2), (1, 1)]
)
def test_the_share_of_one_address(tmp_path, max_connections, per_address):
    """A quarter of the slots, but never fewer than 2: the workstation's engine holds one
    connection to a device for a deployment and opens another for each probe round."""
    server = AgentServer(
        ("127.0.0.1", 0),
        None,
        TOKEN,
        max_connections=max_connections,  # type: ignore[arg-type]
    )
    with server:
        assert server.max_per_address == per_address
        assert server.connection_lifetime == 10 * server.request_timeout


def test_a_kept_alive_connection_is_closed_after_its_lifetime(tmp_path):
    with (
        serving(tmp_path, request_timeout=5.0, connection_lifetime=1.0) as server,
        socket.create_connection(server.server_address[:2], timeout=5) as sock,
    ):
        opened = time.monotonic()
        answers = 0
        while True:
            answer = answer_on(sock, f"GET /v1/status HTTP/1.1\r\n{AUTH}\r\n".encode())
            assert answer.status == 200  # the answer that ends it is a whole one
            answers += 1
            if answer.headers["Connection"] == "close":
                break
            assert time.monotonic() - opened < 3
        assert 1.0 <= time.monotonic() - opened < 3
        assert answers > 1
        assert sock.recv(1) == b""


def test_the_workstations_client_goes_on_across_closed_connections(tmp_path):
    """The engine's AgentClient keeps one connection per device: it opens a new one when the
    agent closed the last (a 4xx, the lifetime), without the caller noticing."""
    with serving(tmp_path, request_timeout=5.0, connection_lifetime=0.3) as server:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        with AgentClient("press-07", Connection(endpoint, TOKEN), timeout=5) as client:
            started = time.monotonic()
            while time.monotonic() - started < 1.0:
                assert client.status().device == "press-07"
            with pytest.raises(DeviceRejected, match="HTTP 404"):
                client.poll("d9")
            assert client.status().device == "press-07"


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("127.0.0.2", "127.0.0.2"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("::ffff:10.0.0.7", "10.0.0.7"),
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_one_address_is_an_ipv4_address_or_an_ipv6_64(host, key):
    assert address_key(host) == key


def test_a_refused_connection_is_said_with_the_option_to_raise(caplog):
    slots = ConnectionSlots(total=3, per_address=1)
    assert slots.take("127.0.0.1")
    assert not slots.take("127.0.0.1")
    assert "--max-connections-per-address" in caplog.text
    slots.give_back("127.0.0.1")
    assert slots.take("127.0.0.1")
