"""A local HTTP server that receives webhooks in a test: it keeps what arrived (its own log, to
judge the senders by) and answers with the statuses it is told, or hangs until released."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict:
        return json.loads(self.raw)

    def signed_with(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("x-appupdater-signature", ""), expected)


class Receiver:
    """`url(path)` to send to; `answers` are the statuses of the next requests (then 200);
    a path in `hanging` waits for `release` before answering; one in `trickling` answers a
    byte of its status line every 50 ms until `release` (each byte keeps a socket timeout
    from firing)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[int] = []
        self.hanging: set[str] = set()
        self.trickling: set[str] = set()
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path in receiver.hanging:
                    receiver.release.wait(30)
                if self.path in receiver.trickling:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.flush()
                    while not receiver.release.wait(0.05):
                        try:
                            self.wfile.write(b"X")
                            self.wfile.flush()
                        except OSError:  # the sender gave up and closed
                            return
                with receiver._lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def bodies(self, path: str | None = None) -> list[dict]:
        with self._lock:
            return [r.body for r in self.received if path is None or r.path == path]

    def events(self, path: str | None = None) -> Counter[tuple[str, int | None]]:
        """(event, run id) → how many times it arrived."""
        return Counter((b["event"], (b.get("run") or {}).get("id")) for b in self.bodies(path))

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
