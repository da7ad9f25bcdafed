"""What webhooks are told, found in the database: failures gathered per run and minute once the
minute has ended, nothing from before a webhook was added, nothing for a removed one, and the
backoff between attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appupdater.core import notifications, webhooks
from appupdater.core.runs import apply_configuration
from appupdater.core.webhooks import Sent
from appupdater.store.db import writing
from appupdater.store.models import Deployment, UpdateRun
from appupdater.store.revisions import stamped
from appupdater.store.team_models import Webhook, WebhookEvent
from tests.helpers import behind_on_line_monitor

T0 = datetime(2026, 11, 28, 9, 0, 0, tzinfo=UTC)


def _fleet(devices: int) -> tuple[int, list[int]]:
    run_id = behind_on_line_monitor(devices)
    apply_configuration(run_id, T0)
    return run_id, [d.id for d in Deployment.select().order_by(Deployment.id)]


def _fail(ids, at):
    Deployment.update(state="failed", finished_at=at, last_message="unreachable").where(
        Deployment.id << ids
    ).execute()


def _events(kind):
    return list(WebhookEvent.select().where(WebhookEvent.kind == kind).order_by(WebhookEvent.key))


def test_failures_are_gathered_per_run_and_minute_once_it_ended(db):
    webhooks.add_webhook("https://chat.example/hook", events="deployment.failed")
    Webhook.update(created_at=T0 - timedelta(days=2)).execute()
    run_id, ids = _fleet(5)
    _fail(ids[:2], T0 + timedelta(seconds=5))
    _fail(ids[2:3], T0 + timedelta(seconds=50))
    notifications.detect(T0 + timedelta(seconds=55), None)
    assert _events("deployment.failed") == []  # the minute is still going on
    _fail(ids[3:4], T0 + timedelta(seconds=70))
    notifications.detect(T0 + timedelta(seconds=61), None)
    [first] = _events("deployment.failed")
    assert [d["device"] for d in first.body["failed_devices"]] == ["dev-000", "dev-001", "dev-002"]
    assert first.body["summary"] == (
        f"Run #{run_id}: 3 deployments failed (dev-000, dev-001, dev-002)."
    )
    for _again in range(2):
        notifications.detect(T0 + timedelta(minutes=2), None)
    assert [len(e.body["failed_devices"]) for e in _events("deployment.failed")] == [3, 1]


def test_nothing_from_before_a_webhook_was_added_nor_for_a_removed_one(db):
    _fleet(1)  # approved now, before the webhook
    hook = webhooks.add_webhook("https://chat.example/hook")
    notifications.detect(datetime.now(UTC), None)
    assert WebhookEvent.select().count() == 0
    Webhook.update(created_at=T0 - timedelta(days=2)).execute()
    webhooks.remove_webhook(hook)
    notifications.detect(datetime.now(UTC), None)
    assert WebhookEvent.select().count() == 0


def test_attempts_back_off_then_give_up(db):
    hook = webhooks.add_webhook("https://chat.example/hook", events="run.approved")
    Webhook.update(created_at=T0 - timedelta(days=2)).execute()
    _fleet(1)
    now = datetime.now(UTC)
    notifications.detect(now, None)
    waits = []
    for _attempt in range(notifications.MAX_ATTEMPTS):
        [claimed] = notifications.claim_due("engine", now, 5)
        assert notifications.claim_due("other", now, 5) == []
        state = notifications.finish(claimed, Sent(503, "", 3), now)
        event = WebhookEvent.get()
        if state == "pending":
            waits.append(event.next_attempt_at - now)
            assert (
                notifications.claim_due("engine", event.next_attempt_at - timedelta(seconds=1), 5)
                == []
            )
            now = event.next_attempt_at
    assert state == "failed"
    assert waits == list(notifications.BACKOFF)
    assert webhooks.webhooks()[0].last.describe() == "HTTP 503"
    assert hook == 1


def test_what_machines_with_slow_clocks_write_after_a_look_is_still_told(db):
    """An approval from a workstation, and failures from an engine, whose clocks are minutes
    behind this engine's: written after its look, stamped before it, still found by the next."""
    hook = webhooks.add_webhook("https://chat.example/hook")
    Webhook.update(created_at=T0 - timedelta(days=2)).execute()
    run_id, ids = _fleet(2)
    UpdateRun.update(approved_at=T0 - timedelta(days=2)).execute()  # told long ago: not again
    cursor = notifications.detect(T0, None)
    assert WebhookEvent.select().count() == 0
    slow = T0 - timedelta(minutes=5)
    with writing():
        Deployment.update(
            state="failed", finished_at=slow, last_message="unreachable", **stamped(slow)
        ).where(Deployment.id << ids).execute()
    later = UpdateRun.create(approved_by="carol", approved_at=slow).id  # from a slow workstation
    cursor = notifications.detect(T0 + timedelta(seconds=1), cursor)
    made = {(e.kind, e.run) for e in WebhookEvent.select()}
    assert made == {
        ("deployment.failed", run_id),
        ("run.completed_with_failures", run_id),
        ("run.approved", later),
    }
    assert all(e.webhook_id == hook for e in WebhookEvent.select())
    assert notifications.detect(T0 + timedelta(seconds=2), cursor) == cursor
    assert WebhookEvent.select().count() == 3  # each once


def test_failures_of_a_minute_still_going_on_are_looked_at_again(db):
    webhooks.add_webhook("https://chat.example/hook", events="deployment.failed")
    Webhook.update(created_at=T0 - timedelta(days=2)).execute()
    run_id, ids = _fleet(1)
    cursor = notifications.detect(T0, None)
    at = T0 + timedelta(seconds=20)
    with writing():
        Deployment.update(
            state="failed", finished_at=at, last_message="unreachable", **stamped(at)
        ).where(Deployment.id << ids).execute()
    cursor = notifications.detect(T0 + timedelta(seconds=30), cursor)
    assert WebhookEvent.select().count() == 0  # its minute has not ended
    notifications.detect(T0 + timedelta(seconds=61), cursor)
    [event] = WebhookEvent.select()
    assert (event.kind, event.run) == ("deployment.failed", run_id)


def test_an_event_failing_while_its_webhook_is_removed_is_given_up(db):
    hook = webhooks.add_webhook("https://chat.example/hook", events="run.approved")
    Webhook.update(created_at=T0 - timedelta(days=2)).execute()
    _fleet(1)
    notifications.detect(T0, None)
    [claimed] = notifications.claim_due("engine", T0, 5)
    webhooks.remove_webhook(hook)  # while it is being sent
    assert notifications.finish(claimed, Sent(503, "", 3), T0) == "failed"  # not pending for ever
