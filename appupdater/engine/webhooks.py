"""Sending webhook events in the background (docs/webhooks.md): at each scheduling step the
engine calls `maybe()`, which starts a round on a thread of its own when none runs; a round
looks for what happened (core/notifications.py), claims the events due and hands each to a
small pool of senders, so the dispatcher never waits on a receiver and a receiver that hangs
holds one sender until its timeout, not the others."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from appupdater import __version__
from appupdater.core import notifications
from appupdater.core.webhooks import SIGNATURE_HEADER, Sent, redacted_url, sign
from appupdater.engine.clock import Clock
from appupdater.engine.outage import is_outage, reason
from appupdater.store.models import db

log = logging.getLogger("appupdater.engine")

SENDERS = 8  # deliveries in flight at once
TIMEOUT_S = 10.0  # one delivery: a receiver that answers slower counts as failed


class WebhookSender:
    """Webhook rounds and deliveries for one engine (`instance` is its claim name)."""

    def __init__(self, instance: str, clock: Clock):
        self.instance, self.clock = instance, clock
        self._round: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._in_flight: set[Future[None]] = set()
        self._since: datetime | None = None  # where the next look starts (None: a first look)

    def maybe(self) -> None:
        """Start a round unless one is running (called by the dispatcher, on its connection:
        with no webhook in use, that one query is all, and no other connection is opened).
        A removed webhook's pending events are given up when it is removed."""
        if self._round is not None and self._round.is_alive():
            return
        if not notifications.any_webhooks() and not self._in_flight:
            return
        self._round = threading.Thread(target=self._look, name="webhooks", daemon=True)
        self._round.start()

    def join(self, seconds: float | None) -> bool:
        """Wait for the round and the deliveries in flight (each ends within its timeout);
        whether all ended."""
        if self._round is not None:
            self._round.join(seconds)
            if self._round.is_alive():
                return False
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        return True

    def _look(self) -> None:
        try:
            now = self.clock.now()
            with db.obj.connection_context():
                notifications.detect(now, self._since)
                self._since = now - notifications.OVERLAP
                with self._lock:
                    free = SENDERS - len(self._in_flight)
                claimed = notifications.claim_due(self.instance, now, free)
            for event in claimed:
                with self._lock:
                    if self._pool is None:
                        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="webhook")
                    future = self._pool.submit(self._send, event)
                    self._in_flight.add(future)
                future.add_done_callback(self._done)
        except Exception as exc:  # notifications must never take the engine down
            if is_outage(exc):
                log.warning("webhooks skipped: the database is unavailable (%s)", reason(exc))
            else:
                log.exception("looking for webhook events failed")

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._in_flight.discard(future)

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


def post(url: str, body: bytes, secret: str | None) -> Sent:
    """POST `body` to `url` once, waiting at most TIMEOUT_S; never raises for what the network
    or the receiver does."""
    headers = {"Content-Type": "application/json", "User-Agent": f"AppUpdater/{__version__}"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    start = time.monotonic()
    status: int | None = None
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        error = str(reason) or type(reason).__name__
    return Sent(status, error, int((time.monotonic() - start) * 1000))


def send_test(webhook_id: int, now: datetime) -> Sent:
    """Send a test event to one webhook now, on this thread (`webhook test`, Send test), and
    record the attempt; raises WebhookError for a webhook that is not there."""
    claimed = notifications.test_event(webhook_id, now)
    sent = post(claimed.url, claimed.body, claimed.secret)
    notifications.finish(claimed, sent, now)
    return sent
