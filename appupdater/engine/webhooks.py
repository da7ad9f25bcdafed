"""Sending webhook events in the background (docs/webhooks.md): at each scheduling step the
engine calls `maybe()`, which wakes this engine's looker thread; a look finds what happened
(core/notifications.py), claims the events due and queues each for a small set of sender
threads, so the dispatcher never waits on a receiver and a receiver that hangs holds one sender
until its deadline, not the others. The looker keeps one database connection for its looks."""

from __future__ import annotations

import contextlib
import http.client
import logging
import queue
import socket
import threading
import time
from datetime import datetime
from urllib.parse import urlsplit

from appupdater import __version__
from appupdater.core import notifications
from appupdater.core import webhook_retention as retention
from appupdater.core.urls import redacted_url
from appupdater.core.webhooks import SIGNATURE_HEADER, Sent, sign
from appupdater.engine.clock import Clock
from appupdater.engine.outage import is_outage, reason
from appupdater.store.models import db

log = logging.getLogger("appupdater.engine")

SENDERS = 8  # deliveries in flight at once
TIMEOUT_S = 10.0  # one delivery, whole (connect, send, answer): slower counts as failed
STOP_WAIT_S = 2.0  # at most this long a stopping engine waits for deliveries in flight
ANSWER_LIMIT = 64 * 1024  # of a receiver's answer, read and dropped
PRUNE_BATCHES = 10  # transactions of old history deleted per look (retention.BATCH events each)


class WebhookSender:
    """Webhook looks and deliveries for one engine (`instance` is its claim name)."""

    def __init__(self, instance: str, clock: Clock):
        self.instance, self.clock = instance, clock
        self._looker: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._queue: queue.SimpleQueue[notifications.Claimed | None] = queue.SimpleQueue()
        self._senders: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._in_flight = 0  # claimed and not finished
        self._idle = threading.Condition(self._lock)
        self._after: int | None = None  # the deployments' revision looked at (None: first look)
        self._pruned_at: datetime | None = None  # by the engine's clock (None: prune at once)

    def maybe(self) -> None:
        """Wake the looker (called by the dispatcher at each step, on its connection: with no
        webhook in use, that one query is all, and no other connection is opened)."""
        if self._stopping.is_set():
            return
        with self._lock:
            busy = self._in_flight > 0
        if not busy and not notifications.any_webhooks():
            return
        if self._looker is None:
            self._looker = threading.Thread(target=self._looks, name="webhooks", daemon=True)
            self._looker.start()
        self._wake.set()

    def join(self, seconds: float | None) -> bool:
        """Stop looking and wait for the deliveries in flight, at most `seconds` and never
        more than STOP_WAIT_S: a delivery still going on after that ends by its own deadline
        on a daemon thread (its event is then given up by the stale-claim rule, or recorded
        when it ends). Whether everything ended."""
        self._stopping.set()
        self._wake.set()
        limit = STOP_WAIT_S if seconds is None else min(seconds, STOP_WAIT_S)
        deadline = time.monotonic() + limit
        looker, senders = self._looker, self._senders
        if looker is not None:
            looker.join(limit)
        for _sender in senders:
            self._queue.put(None)
        with self._idle:
            while self._in_flight and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            ended = self._in_flight == 0
        ended = ended and not (looker is not None and looker.is_alive())
        # ready for the engine's next start: a new looker, with a stop of its own
        self._looker, self._senders = None, []
        self._stopping, self._wake = threading.Event(), threading.Event()
        return ended

    def _looks(self) -> None:
        stopping, wake = self._stopping, self._wake  # this looker's, not a later start's
        try:
            while not stopping.is_set():
                wake.wait()
                wake.clear()
                if stopping.is_set():
                    break
                self._look()
        finally:
            if not db.obj.is_closed():
                db.obj.close()

    def _look(self) -> None:
        try:
            now = self.clock.now()
            db.obj.connect(reuse_if_open=True)
            self._after = notifications.detect(now, self._after)
            with self._lock:
                free = SENDERS - self._in_flight
            claimed = notifications.claim_due(self.instance, now, free)
        except Exception as exc:
            self._failed(exc, "looking for webhook events failed")
            return
        self._hand_out(claimed)
        if self._pruned_at is None or now >= self._pruned_at + retention.PRUNE_EVERY:
            try:
                pruned = retention.prune(now, batch=retention.BATCH, batches=PRUNE_BATCHES)
            except Exception as exc:
                self._failed(exc, "pruning webhook history failed")
                return
            # more left: again at the next look, so a long backlog goes in small steps
            self._pruned_at = None if pruned.more else now
            if pruned.events:
                log.info(
                    "webhook history: %d old events and %d attempts deleted",
                    pruned.events,
                    pruned.attempts,
                )

    def _failed(self, exc: Exception, what: str) -> None:
        """Notifications must never take the engine down: a new connection at the next look."""
        if not db.obj.is_closed():
            db.obj.close()
        if is_outage(exc):
            log.warning("webhooks skipped: the database is unavailable (%s)", reason(exc))
        else:
            log.exception(what)

    def _hand_out(self, claimed: list[notifications.Claimed]) -> None:
        """Queue the claimed events for the senders, starting senders as needed."""
        if not claimed:
            return
        with self._lock:
            self._in_flight += len(claimed)
            wanted = min(SENDERS, self._in_flight) - len(self._senders)
        for _new in range(max(0, wanted)):
            sender = threading.Thread(target=self._sends, name="webhook", daemon=True)
            self._senders.append(sender)
            sender.start()
        for event in claimed:
            self._queue.put(event)

    def _sends(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                self._send(event)
            finally:
                with self._idle:
                    self._in_flight -= 1
                    self._idle.notify_all()

    def _send(self, event: notifications.Claimed) -> None:
        sent = post(event.url, event.body, event.secret)
        try:
            with db.obj.connection_context():
                state = notifications.finish(event, sent, self.clock.now())
        except Exception:
            log.exception("recording webhook event %d failed", event.id)
            return
        answer = f"HTTP {sent.status}" if sent.status is not None else sent.error
        log.info("webhook event %d to %s: %s, %s", event.id, redacted_url(event.url), answer, state)


def post(url: str, body: bytes, secret: str | None, deadline_s: float | None = None) -> Sent:
    """POST `body` to `url` once, all of it (connecting, sending, the answer) within
    `deadline_s` (TIMEOUT_S): a receiver that trickles its answer a byte at a time is cut off
    at the deadline. Never raises for what the network or the receiver does."""
    limit = TIMEOUT_S if deadline_s is None else deadline_s
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"AppUpdater/{__version__}",
        "Content-Length": str(len(body)),
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    start = time.monotonic()
    status: int | None = None
    error = ""
    connection: http.client.HTTPConnection | None = None
    timer: threading.Timer | None = None
    cut = threading.Event()  # set when the deadline shut the socket: whatever came is no answer
    try:
        parts = urlsplit(url)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = kind(parts.hostname or "", parts.port, timeout=limit)
        connection.connect()
        left = max(0.0, limit - (time.monotonic() - start))
        timer = threading.Timer(left, _cut, [connection, cut])
        timer.daemon = True
        timer.start()
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        status = response.status
        response.read(ANSWER_LIMIT)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        status, error = None, str(exc) or type(exc).__name__
    finally:
        if timer is not None:
            timer.cancel()
            timer.join()  # it may be cutting right now
        if cut.is_set() or time.monotonic() - start >= limit:
            status, error = None, f"no answer within {limit:g} s"
        if connection is not None:
            connection.close()
    return Sent(status, error, int((time.monotonic() - start) * 1000))


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    """At the deadline: shut the socket down, which ends a read blocked on it."""
    cut.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def send_test(webhook_id: int, now: datetime) -> Sent:
    """Send a test event to one webhook now, on this thread (`webhook test`, Send test), and
    record the attempt; raises WebhookError for a webhook that is not there."""
    claimed = notifications.test_event(webhook_id, now)
    sent = post(claimed.url, claimed.body, claimed.secret)
    notifications.finish(claimed, sent, now)
    return sent
