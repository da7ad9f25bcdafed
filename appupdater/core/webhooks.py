"""Webhooks: URLs an administrator adds to be told about runs (docs/webhooks.md). Adding,
listing and removing them, and the body's signature. What happened and when it is sent is
core/notifications.py; the HTTP request itself, and sending in the background, is
engine/webhooks.py."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from appupdater.core import audit
from appupdater.core.identity import who
from appupdater.core.urls import redacted_url
from appupdater.errors import AppUpdaterError
from appupdater.store.db import writing
from appupdater.store.fields import utcnow
from appupdater.store.rows import tuples
from appupdater.store.team_models import Webhook, WebhookAttempt, WebhookEvent

SIGNATURE_HEADER = "X-AppUpdater-Signature"


class EventKind(enum.StrEnum):
    """What a webhook can be told (the names a receiver sees in the body's `event`)."""

    AWAITING_APPROVAL = "run.awaiting_approval"
    APPROVED = "run.approved"
    COMPLETED = "run.completed"
    COMPLETED_WITH_FAILURES = "run.completed_with_failures"
    PAUSED = "run.paused"
    ABORTED = "run.aborted"
    REJECTED = "run.rejected"
    APPROVAL_EXPIRED = "run.approval_expired"
    DEPLOYMENT_FAILED = "deployment.failed"
    TEST = "test"  # `webhook test`, Send test: never subscribed, sent on demand


EVENTS = tuple(k for k in EventKind if k is not EventKind.TEST)
EVENT_WORDS = {
    EventKind.AWAITING_APPROVAL: "run awaiting approval",
    EventKind.APPROVED: "run approved",
    EventKind.COMPLETED: "run completed",
    EventKind.COMPLETED_WITH_FAILURES: "run completed with failures",
    EventKind.PAUSED: "run paused",
    EventKind.ABORTED: "run aborted",
    EventKind.REJECTED: "run rejected",
    EventKind.APPROVAL_EXPIRED: "approval request expired",
    EventKind.DEPLOYMENT_FAILED: "deployment failed",
    EventKind.TEST: "test",
}


class WebhookError(AppUpdaterError, ValueError):
    """A webhook that cannot be added or found; the message says why in words."""


@dataclass(frozen=True)
class WebhookInfo:
    """A webhook as lists show it: the secret only as whether there is one."""

    id: int
    url: str
    has_secret: bool
    events: tuple[str, ...]
    created_by: str
    created_at: datetime
    last: Delivery | None  # its newest delivery attempt


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt of one event, as Settings → Notifications shows it."""

    event: str
    run: int | None
    at: datetime
    status: int | None  # the HTTP status; None: no answer (see error)
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        """ "HTTP 200", "HTTP 500", "no answer: timed out"."""
        if self.status is not None:
            return f"HTTP {self.status}"
        return f"no answer: {self.error}" if self.error else "no answer"


def check_url(url: str) -> str:
    """`url` stripped, or WebhookError when it is not an http(s) URL with a host (and a port,
    if it names one, that is a number from 1 to 65535). The messages show the URL redacted
    (core/urls.py): they reach the audit trail and logs."""
    text = url.strip()
    shown = redacted_url(text)
    if any(c.isspace() or not c.isprintable() for c in text):
        raise WebhookError(f"the webhook URL {shown} contains a space or a control character")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # "Port could not be cast…", "Invalid IPv6 URL"
        raise WebhookError(f"the webhook URL is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"not {parts.scheme}:" if parts.scheme else "this one has none"
        raise WebhookError(
            f"a webhook URL must start with http:// or https:// ({scheme}; "
            f"{'empty' if not text else 'nothing was added'})"
        )
    if not parts.hostname:
        raise WebhookError("the webhook URL names no host")
    if port == 0:
        raise WebhookError(f"the webhook URL {shown} names port 0")
    return text


def parse_events(text: str | Iterable[str] | None) -> list[str]:
    """Event names (comma-separated text, or a list); None or empty: all of them."""
    names = text.split(",") if isinstance(text, str) else list(text or [])
    chosen = [n.strip() for n in names if n.strip()]
    if not chosen:
        return [str(k) for k in EVENTS]
    known = {str(k) for k in EVENTS}
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise WebhookError(
            f"unknown event {', '.join(unknown)}; the events are {', '.join(sorted(known))}"
        )
    return [str(k) for k in EVENTS if str(k) in chosen]


def add_webhook(
    url: str,
    *,
    secret: str | None = None,
    events: Iterable[str] | str | None = None,
    now: datetime | None = None,
) -> int:
    """Add a webhook (audited); its id. Refuses what is not http(s) in words. It is told what
    happens from `now` (the engine's clock; the wall clock by default) on."""
    try:
        checked, kinds = check_url(url), parse_events(events)
    except WebhookError as exc:  # its words show the URL redacted (check_url)
        audit.record_refusal(audit.WEBHOOK_ADD, str(exc), note=redacted_url(url), now=now)
        raise
    user = who().user
    with writing():
        hook = Webhook.create(
            url=checked,
            secret=secret or None,
            events=kinds,
            created_by=user,
            created_at=now or utcnow(),
        )
        signed = "signed" if secret else "not signed"
        note = f"{redacted_url(checked)} ({', '.join(kinds)}; {signed})"
        audit.record(audit.WEBHOOK_ADD, objects={"webhooks": [hook.id]}, note=note, now=now)
    return int(hook.id)


def remove_webhook(webhook_id: int) -> str:
    """Remove a webhook (audited): nothing more is sent to it, its deliveries stay readable.
    Its URL, for the message."""
    with audit.refusing(audit.WEBHOOK_REMOVE, objects={"webhooks": [webhook_id]}), writing():
        hook = Webhook.get_or_none((Webhook.id == webhook_id) & Webhook.removed_at.is_null())
        if hook is None:
            raise WebhookError(f"there is no webhook {webhook_id} (see `appupdater webhook list`)")
        note = redacted_url(str(hook.url))
        audit.record(audit.WEBHOOK_REMOVE, objects={"webhooks": [webhook_id]}, note=note)
        Webhook.update(removed_at=utcnow(), removed_by=who().user).where(
            Webhook.id == webhook_id
        ).execute()
        WebhookEvent.update(state="failed", finished_at=utcnow()).where(
            (WebhookEvent.webhook == webhook_id) & (WebhookEvent.state == "pending")
        ).execute()
    return str(hook.url)


def webhooks() -> list[WebhookInfo]:
    """The webhooks in use, oldest first, each with its newest delivery attempt."""
    hooks = list(Webhook.select().where(Webhook.removed_at.is_null()).order_by(Webhook.id))
    return [
        WebhookInfo(
            h.id,
            h.url,
            bool(h.secret),
            tuple(h.events),
            h.created_by,
            h.created_at,
            next(iter(deliveries(h.id, limit=1)), None),
        )
        for h in hooks
    ]


def deliveries(webhook_id: int | None = None, *, limit: int = 20) -> list[Delivery]:
    """The newest delivery attempts (of one webhook, or all), newest first."""
    query = (
        WebhookAttempt.select(
            WebhookEvent.kind,
            WebhookEvent.run,
            WebhookAttempt.at,
            WebhookAttempt.status,
            WebhookAttempt.error,
            WebhookAttempt.duration_ms,
        )
        .join(WebhookEvent)
        .order_by(WebhookAttempt.at.desc(), WebhookAttempt.id.desc())
        .limit(limit)
    )
    if webhook_id is not None:
        query = query.where(WebhookEvent.webhook == webhook_id)
    rows = tuples(query, tuple[str, int | None, datetime, int | None, str, int])
    return [Delivery(*row) for row in rows]


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(body: dict[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Sent:
    """What one HTTP delivery got: a status (None: no answer), an error, how long it took."""

    status: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300
