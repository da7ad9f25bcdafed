"""Malformed requests to a running agent server get a 4xx (or 505) JSON answer naming the
problem, never a 500 nor an HTML page: odd Content-Lengths, JSON nested beyond reason,
methods the API does not know, broken request lines and headers."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from appupdater.agent.server import AgentServer
from appupdater.agent.state import Agent
from tests.agents import TOKEN

AUTH = f"Authorization: Bearer {TOKEN}\r\n"


@pytest.fixture
def server(tmp_path):
    server = AgentServer(("127.0.0.1", 0), Agent(tmp_path / "device", "press-07"), TOKEN)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def exchange(server: AgentServer, raw: bytes, method: str = "GET"):
    """Send `raw` as it is on a new connection; the answer's status, headers and JSON body
    (None when there is no body)."""
    with socket.create_connection(server.server_address[:2], timeout=10) as sock:
        sock.sendall(raw)
        answer = http.client.HTTPResponse(sock, method=method)
        answer.begin()
        data = answer.read()
        assert answer.headers["Content-Type"] == "application/json", (answer.status, data)
        return answer.status, answer.headers, json.loads(data) if data else None


def request(method: str, path: str, headers: str = AUTH, body: bytes = b"") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: agent\r\n{headers}\r\n".encode() + body


@pytest.mark.parametrize("length", ["²", "١٢", "-1", "1e3", "0x10", "12 13", ""])
@pytest.mark.parametrize(("method", "path"), [("PUT", "/v1/deployments/d1"), ("GET", "/v1/status")])
def test_a_content_length_that_is_not_a_number_of_bytes_is_a_400(server, length, method, path):
    status, _, body = exchange(
        server, request(method, path, AUTH + f"Content-Length: {length}\r\n", b"{}")
    )
    assert status == 400, body
    assert "Content-Length" in body["error"]


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_json_nested_beyond_reason_is_a_400_that_says_so(server, opening):
    depth = 100_000
    data = (opening * depth + "1" + ("]" if opening == "[" else "}") * depth).encode()
    headers = AUTH + f"Content-Length: {len(data)}\r\n"
    status, _, body = exchange(server, request("PUT", "/v1/deployments/d1", headers, data), "PUT")
    assert status == 400, body
    assert "nested too deeply" in body["error"]


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS", "TRACE", "DELETE", "PROPFIND", "BREW"])
def test_other_methods_are_a_405_in_json_with_the_allowed_ones(server, method):
    status, headers, body = exchange(server, request(method, "/v1/deployments/d1"))
    assert status == 405, body
    assert set(headers["Allow"].split(", ")) == {"GET", "PUT"}
    assert method in body["error"]
    status, _, body = exchange(server, request(method, "/v1/nothing-here"))
    assert status == 404, body
    status, headers, body = exchange(server, request(method, "/v1/status", headers=""))
    assert status == 401, body
    assert headers["WWW-Authenticate"].startswith("Bearer ")


def test_head_is_a_405_without_a_body_and_the_client_goes_on(server):
    """Like every 4xx the 405 ends the connection; the client's next request opens another."""
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    try:
        connection.request("HEAD", "/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
        answer = connection.getresponse()
        assert answer.status == 405
        assert answer.headers["Allow"] == "GET"
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.read() == b""
        assert answer.headers["Connection"] == "close"
        connection.request("GET", "/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
        answer = connection.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read())["device"] == "press-07"
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /v1/status\r\n\r\n", 400),
        (b"GET /v1/status HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET /v1/status HTTP/2.0\r\n\r\n", 505),
        (b"GET /v1/status HTTP/x.y\r\n\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /v1/status HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET /v1/status HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 150 + b"\r\n", 431),
        (request("PUT", "/v1/deployments/d1", AUTH + "Content-Length: 3\r\n", b"\xff\xfe{"), 400),
        (request("GET", "/v1/deployments/d1?log_after=%C2%B2&wait=1e999"), 400),
    ],
    ids=[
        "no method",
        "HTTP/0.9",
        "extra word",
        "HTTP/2.0",
        "bad version",
        "long path",
        "long header",
        "many headers",
        "not UTF-8",
        "odd query",
    ],
)
def test_broken_requests_are_answered_in_json(server, raw, expected):
    status, _, body = exchange(server, raw)
    assert status == expected, body
    assert body["error"]


@pytest.mark.parametrize(
    ("target", "expected", "words"),
    [
        ("http://[x/v1/status", 400, "not a URL"),
        ("http://[::1/v1/status", 400, "not a URL"),
        ("http://agent:port/v1/status", 400, "not a URL"),
        ("http://agent:99999/v1/status", 400, "not a URL"),
        ("ftp://agent/v1/status", 400, "http"),
        ("agent/v1/status", 400, "neither a path nor"),
        ("*", 400, "neither a path nor"),
        ("http://agent:8443/v1/status", 200, ""),
        ("https://[::1]:8443/v1/status?x=1#top", 200, ""),
        ("/v1/status#top", 200, ""),
        ("/v1/deployments/d1?wait=nan", 400, "wait"),
        ("/v1/deployments/d1?wait=inf", 400, "wait"),
        ("/v1/deployments/d1?wait=1e999", 400, "wait"),
        ("/v1/deployments/d1?wait=%ff", 400, "wait"),
        ("/v1/deployments/d1?log_after=%D9%A1%D9%A2", 400, "log_after"),
        ("/v1/deployments/d1?log_after=1_000", 400, "log_after"),
        ("/v1/deployments/d1?log_after=" + "9" * 5000, 400, "log_after"),
        ("/v1/deployments/d1?log_after=-1", 400, "log_after"),
        ("/v1/deployments/d1?log_after=1&&;=&%zz", 404, "no deployment d1"),
        ("/v1/deployments/%2e%2e", 400, "deployment id"),
        ("/v1/deployments/d1%00", 400, "deployment id"),
    ],
)
def test_request_targets_that_are_not_paths_or_urls_are_a_400(server, target, expected, words):
    """What a token holder can put in the request line: the target in absolute form
    (RFC 9112 3.2.2) is served, one that is not a URL (or a query that is not numbers) is a
    400 naming it; never a 500."""
    raw = f"GET {target} HTTP/1.1\r\nHost: agent\r\n{AUTH}\r\n".encode()
    status, _, body = exchange(server, raw)
    assert status == expected, body
    if words:
        assert words in body["error"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (b"X-Odd: \xff\xfe\x00\x01\r\n", 200),
        (b"X-Folded: a\r\n b\r\n", 200),
        (b"no colon here\r\n", 200),
        (b"\xff\xfe: value\r\n", 200),
        (b"Host: [x\r\n", 200),
        (b"Content-Length: 1\x00\r\n", 400),
        (b"Content-Length: \xc2\xb2\r\n", 400),
        (b"Transfer-Encoding: chunked\r\n", 200),
        (b"Expect: 100-continue\r\n", 200),
        (b"Authorization: Bearer \xff\xfe\r\n", 401),
        ("Authorization: Bearer é\r\n".encode(), 401),
    ],
)
def test_headers_with_odd_bytes_are_answered_in_json(server, headers, expected):
    auth = b"" if expected == 401 else AUTH.encode()
    raw = b"GET /v1/status HTTP/1.1\r\n" + auth + headers + b"Connection: close\r\n\r\n"
    status, _, body = exchange(server, raw)
    assert status == expected, body


def test_control_characters_in_a_request_never_reach_the_log_raw(server, caplog):
    """A client cannot write escape sequences or fake lines into the agent's log: what it sent
    is logged with control characters escaped."""
    caplog.set_level("DEBUG", logger="appupdater")
    status, _, _ = exchange(server, request("GET", "/v1/\x1b[31mred\rfake\x07", ""))
    assert status in (400, 401)
    for record in caplog.records:
        text = record.getMessage()
        assert not any(c in text for c in "\x1b\r\x07"), text
    assert any("\\x1b[31mred" in record.getMessage() for record in caplog.records)
