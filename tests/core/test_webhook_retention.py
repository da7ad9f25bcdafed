"""Webhook history is pruned on a hand-driven clock: old delivered or given-up events go with
their attempts; pending, sending and recent ones stay, so do the last attempts of each webhook
and the events told once per run; and nothing deleted is ever made (and sent) again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core import notifications, webhooks
from appupdater.core import webhook_retention as retention
from appupdater.core.runs import apply_configuration
from appupdater.core.webhooks import Sent
from appupdater.store.db import writing
from appupdater.store.models import Deployment
from appupdater.store.revisions import stamped
from appupdater.store.team_models import Webhook, WebhookAttempt, WebhookEvent
from tests.helpers import behind_on_line_monitor

T0 = datetime(2026, 11, 28, 9, 0, 0, tzinfo=UTC)
MONTH = retention.RETENTION


def _hook(url: str = "https://chat.example/hook") -> int:
    hook = webhooks.add_webhook(url)
    Webhook.update(created_at=T0 - timedelta(days=400)).where(Webhook.id == hook).execute()
    return hook


def _event(
    hook: int,
    at: datetime,
    *,
    state: str = "delivered",
    key: str | None = None,
    kind: str = "deployment.failed",
    tries: int = 1,
) -> int:
    """An event made at `at` (a failure of that minute unless `key` says otherwise), finished
    `state` at `at` after `tries` attempts."""
    minute = at.replace(second=0, microsecond=0).isoformat()
    event = WebhookEvent.create(
        webhook=hook,
        kind=kind,
        run=999,  # not a run of these tests: a made event of one is told apart
        key=minute if key is None else key,
        created_at=at,
        next_attempt_at=at,
        state=state,
        attempts=tries,
        finished_at=at if state in retention.FINISHED else None,
    )
    for n in range(tries):
        WebhookAttempt.create(event=event.id, at=at + timedelta(seconds=n), status=500)
    return int(event.id)


def _left() -> set[int]:
    return {e.id for e in WebhookEvent.select(WebhookEvent.id)}


def test_old_finished_events_go_with_their_attempts_and_the_rest_stays(db):
    hook = _hook()
    now = T0 + timedelta(days=400)
    old = now - MONTH - timedelta(hours=1)
    delivered = [_event(hook, old - timedelta(minutes=m)) for m in range(30, 60)]
    given_up = _event(hook, old - timedelta(minutes=70), state="failed", tries=4)
    pending = _event(hook, old - timedelta(minutes=80), state="pending", tries=2)
    sending = _event(hook, old - timedelta(minutes=90), state="sending")
    once_per_run = _event(hook, old - timedelta(minutes=95), key="", kind="run.completed")
    recent = _event(hook, now - MONTH + timedelta(hours=1))
    last = [_event(hook, old - timedelta(minutes=m)) for m in range(1, 20)]  # 19 + `recent`
    pruned = retention.prune(now)
    assert pruned == retention.Pruned(events=31, attempts=34, more=False)
    assert _left() == {pending, sending, once_per_run, recent, *last}
    assert given_up not in _left() and not set(delivered) & _left()
    assert WebhookAttempt.select().where(WebhookAttempt.event.not_in(list(_left()))).count() == 0
    # what Settings shows is what it showed before
    shown = webhooks.deliveries(hook)
    assert len(shown) == retention.KEEP_LAST
    assert retention.prune(now) == retention.Pruned(0, 0, more=False)


def test_the_last_attempts_of_each_webhook_stay_however_old(db):
    quiet, busy = _hook(), _hook("https://other.example/hook")
    now = T0 + timedelta(days=400)
    years_ago = [_event(quiet, T0 + timedelta(minutes=m), tries=2) for m in range(15)]
    busy_old = [_event(busy, T0 + timedelta(minutes=m)) for m in range(15)]
    busy_new = [_event(busy, now - timedelta(minutes=m)) for m in range(1, 21)]
    webhooks.remove_webhook(quiet)  # its deliveries stay readable
    retention.prune(now)
    # the quiet one: its 20 newest attempts are those of its 10 newest events
    assert _left() == set(years_ago[5:]) | set(busy_new)
    assert not set(busy_old) & _left()
    assert len(webhooks.deliveries(quiet)) == 20


def test_batches_are_small_transactions_and_a_limited_call_says_more_is_left(db):
    hook = _hook()
    now = T0 + timedelta(days=400)
    for m in range(25):
        _event(hook, T0 + timedelta(minutes=m))
    first = retention.prune(now, keep=0, batch=10, batches=2)
    assert (first.events, first.more) == (20, True)
    assert retention.prune(now, keep=0, batch=10, batches=2) == retention.Pruned(5, 5, False)
    assert _left() == set()


def test_a_retention_shorter_than_the_clock_margin_twice_is_refused(db):
    with pytest.raises(ValueError, match="at least 2 days"):
        retention.prune(T0, retention=timedelta(days=1))


def _failed_run() -> tuple[int, list[int]]:
    run_id = behind_on_line_monitor(2)
    apply_configuration(run_id, T0)
    ids = [d.id for d in Deployment.select().order_by(Deployment.id)]
    Deployment.update(state="succeeded", finished_at=T0).where(Deployment.id == ids[0]).execute()
    Deployment.update(state="failed", finished_at=T0, last_message="unreachable").where(
        Deployment.id == ids[1]
    ).execute()
    return run_id, ids


def _deliver_all(now: datetime) -> None:
    for claimed in notifications.claim_due("engine", now, 100):
        assert notifications.finish(claimed, Sent(200, "", 3), now) == "delivered"


def test_a_pruned_event_is_never_made_again(db):
    hook = _hook()
    run_id, ids = _failed_run()
    after = notifications.detect(T0 + timedelta(minutes=1), None)
    _deliver_all(T0 + timedelta(minutes=1))
    made = {(e.kind, e.key) for e in WebhookEvent.select()}
    assert made == {
        ("run.approved", ""),
        ("run.completed_with_failures", ""),
        ("deployment.failed", T0.isoformat()),
    }
    later = T0 + MONTH + timedelta(days=3)
    for n in range(1, 21):  # later deliveries push these out of the last 20
        _event(hook, later - timedelta(minutes=n))
    assert retention.prune(later).events == 1  # the failure; the once-per-run ones stay
    # a later write touches the failed deployment (its revision moves on, it stays failed):
    # a look sees it again, and must not tell of that old failure a second time
    with writing():
        Deployment.update(**stamped(later)).where(Deployment.id == ids[1]).execute()
    notifications.detect(later, after)
    notifications.detect(later, None)  # a first look, as after a restart
    assert notifications.claim_due("engine", later, 100) == []
    assert {(e.kind, e.key) for e in WebhookEvent.select().where(WebhookEvent.run == run_id)} == {
        ("run.approved", ""),
        ("run.completed_with_failures", ""),
    }


def test_a_run_completing_again_after_a_month_is_not_told_again(db):
    """The failed deployment retried a month later fails again: that failure is news and is
    told; that the run completed with failures was told already and its row was kept."""
    _hook()
    _run, ids = _failed_run()
    after = notifications.detect(T0 + timedelta(minutes=1), None)
    _deliver_all(T0 + timedelta(minutes=1))
    later = T0 + MONTH + timedelta(days=3)
    retention.prune(later, keep=0)
    with writing():
        Deployment.update(finished_at=later, **stamped(later)).where(
            Deployment.id == ids[1]
        ).execute()
    notifications.detect(later + timedelta(minutes=1), after)
    pending = WebhookEvent.select().where(WebhookEvent.state == "pending")
    assert [(e.kind, e.key) for e in pending] == [
        ("deployment.failed", later.replace(second=0, microsecond=0).isoformat())
    ]
