"""Webhooks: only http(s) URLs, events by name, secrets never shown back, a test event sent
signed to a local receiver and its attempt recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appupdater.core import notifications, webhooks
from appupdater.core.urls import redacted_url
from appupdater.core.webhooks import WebhookError
from appupdater.engine.webhooks import post
from appupdater.store.team_models import Webhook, WebhookAttempt


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/hook", "must start with http:// or https:// (not ftp:"),
        ("file:///etc/passwd", "(not file:"),
        ("example.com/hook", "(this one has none"),
        ("", "; empty)"),
        ("https:///path", "names no host"),
        ("http://host:abc/", "not a valid URL: Port could not be cast"),
        ("http://[::1", "not a valid URL: Invalid IPv6 URL"),
        ("http://exa mple.com/", "contains a space or a control character"),
        ("https://hooks.slack.com/services/T0/SECRET\tX", "hooks.slack.com/… contains a space"),
        ("http://example.com/\x07bell", "contains a space or a control character"),
        ("http://example.com:0/", "names port 0"),
    ],
)
def test_a_url_that_is_not_http_is_refused_in_words(db, url, words):
    with pytest.raises(WebhookError, match="webhook URL") as refused:
        webhooks.add_webhook(url)
    assert words in str(refused.value)
    assert Webhook.select().count() == 0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/XXXXSECRET", "https://hooks.slack.com/…"),
        ("https://ntfy.sh/my-secret-topic", "https://ntfy.sh/…"),
        ("https://chat.example/other?token=abc", "https://chat.example/…"),
        ("https://bob:pw@chat.example:8443/hook", "https://…@chat.example:8443/…"),
        ("https://chat.example:8443", "https://chat.example:8443"),
        ("10.0.3.7:8443", "10.0.3.7:8443"),
        ("http://host:abc/x", "(not a valid URL)"),
    ],
)
def test_a_url_is_shown_without_what_may_be_a_credential(url, shown):
    assert redacted_url(url) == shown


def test_unknown_events_are_refused_and_none_means_all(db):
    with pytest.raises(WebhookError, match=r"unknown event run\.finished; the events are"):
        webhooks.add_webhook("https://chat.example/hook", events="run.paused,run.finished")
    hook = webhooks.add_webhook("https://chat.example/hook")
    assert Webhook.get_by_id(hook).events == [str(k) for k in webhooks.EVENTS]
    assert "test" not in Webhook.get_by_id(hook).events


def test_list_shows_whether_there_is_a_secret_never_the_secret(db):
    hook = webhooks.add_webhook(
        " https://chat.example/hook?token=abc ", secret="s3cret", events=["run.paused"]
    )
    [info] = webhooks.webhooks()
    assert (info.id, info.url, info.has_secret, info.events) == (
        hook,
        "https://chat.example/hook?token=abc",
        True,
        ("run.paused",),
    )
    assert "s3cret" not in repr(info)
    assert redacted_url(info.url) == "https://chat.example/…"


def test_removed_webhooks_leave_the_list_and_cannot_be_removed_twice(db):
    hook = webhooks.add_webhook("http://localhost:9/hook")
    assert webhooks.remove_webhook(hook) == "http://localhost:9/hook"
    assert webhooks.webhooks() == []
    assert Webhook.get_by_id(hook).removed_at is not None
    with pytest.raises(WebhookError, match=f"there is no webhook {hook}"):
        webhooks.remove_webhook(hook)


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_deadline(db, receiver):
    """Each byte within a socket timeout: only a deadline for the whole request ends it."""
    receiver.trickling = {"/trickle"}
    sent = post(receiver.url("/trickle"), b"{}", None, deadline_s=0.5)
    assert (sent.status, sent.error) == (None, "no answer within 0.5 s")
    assert sent.duration_ms < 5_000  # the trickle goes on for 30 s unless cut off


def test_a_test_event_arrives_signed_and_its_attempt_is_recorded(db, receiver):
    hook = webhooks.add_webhook(receiver.url(), secret="s3cret")
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    claimed = notifications.test_event(hook, now)
    sent = post(claimed.url, claimed.body, claimed.secret)
    assert notifications.finish(claimed, sent, now) == "delivered"
    [got] = receiver.received
    assert got.signed_with("s3cret")
    assert not got.signed_with("other")
    assert got.body["event"] == "test" and "App Updater" in got.body["summary"]
    assert got.body["id"] == claimed.id  # a receiver tells a repeat by it
    [attempt] = WebhookAttempt.select()
    assert (attempt.status, attempt.error) == (200, "")
    assert webhooks.webhooks()[0].last.describe() == "HTTP 200"


def test_no_answer_is_recorded_with_the_reason(db):
    hook = webhooks.add_webhook("http://127.0.0.1:9/nothing-listens")
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    claimed = notifications.test_event(hook, now)
    sent = post(claimed.url, claimed.body, claimed.secret)
    assert sent.status is None and sent.error
    assert notifications.finish(claimed, sent, now) == "failed"  # a test is never retried
    assert webhooks.webhooks()[0].last.describe().startswith("no answer: ")


def test_a_receiver_slower_than_the_timeout_counts_as_no_answer(db, receiver, monkeypatch):
    from appupdater.engine import webhooks as sending

    monkeypatch.setattr(sending, "TIMEOUT_S", 0.3)
    receiver.hanging = {"/slow"}
    hook = webhooks.add_webhook(receiver.url("/slow"))
    sent = sending.send_test(hook, datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    assert (sent.status, sent.error) == (None, "no answer within 0.3 s")
    assert webhooks.webhooks()[0].last.describe() == "no answer: no answer within 0.3 s"
