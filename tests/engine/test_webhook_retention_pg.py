"""On PostgreSQL: two engines' webhook lookers prune the history at once, in small batches,
without an error or a deadlock, and the receiver still gets each event once."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core import webhook_retention as retention
from appupdater.core import webhooks
from appupdater.core.runs import apply_configuration
from appupdater.engine import webhooks as sending
from appupdater.engine.clock import ManualClock
from appupdater.store.db import writing
from appupdater.store.models import Deployment
from appupdater.store.revisions import stamped
from appupdater.store.team_models import Webhook, WebhookAttempt, WebhookEvent
from tests.helpers import behind_on_line_monitor

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 28, 9, 0, 10, tzinfo=UTC)
OLD = 3000
WAIT = 60_000


def _old_history(hook: int) -> None:
    """OLD delivered failure events of 20 days before T0 (kept at first), one a minute, each
    with an attempt."""
    start = T0 - timedelta(days=20)
    rows = [
        {
            "webhook": hook,
            "kind": "deployment.failed",
            "run": 10_000 + n,
            "key": (start + timedelta(minutes=n)).isoformat(),
            "created_at": start + timedelta(minutes=n),
            "next_attempt_at": start + timedelta(minutes=n),
            "state": "delivered",
            "attempts": 1,
            "finished_at": start + timedelta(minutes=n),
        }
        for n in range(OLD)
    ]
    with writing():
        WebhookEvent.insert_many(rows).execute()
        ids = [e.id for e in WebhookEvent.select(WebhookEvent.id)]
        WebhookAttempt.insert_many(
            [{"event": i, "at": start, "status": 200} for i in ids]
        ).execute()


def test_two_engines_prune_at_once_and_deliver_each_event_once(
    pg, qtbot, receiver, monkeypatch, caplog
):
    monkeypatch.setattr(retention, "KEEP_LAST", 0)
    monkeypatch.setattr(retention, "BATCH", 50)  # many small transactions, interleaved
    monkeypatch.setattr(sending, "PRUNE_BATCHES", 2)
    hook = webhooks.add_webhook(receiver.url())
    Webhook.update(created_at=T0 - timedelta(days=400)).execute()
    _old_history(hook)
    run_id = behind_on_line_monitor(2)
    apply_configuration(run_id, T0)
    failed, done = [d.id for d in Deployment.select().order_by(Deployment.id)]
    Deployment.update(state="succeeded", finished_at=T0).where(Deployment.id == done).execute()
    Deployment.update(state="failed", finished_at=T0, last_message="unreachable").where(
        Deployment.id == failed
    ).execute()
    clock = ManualClock(T0 + timedelta(minutes=1))
    pruned_by: dict[int, int] = {}  # looker thread → events it deleted
    prune = retention.prune

    def counted(*args, **kwargs) -> retention.Pruned:
        done = prune(*args, **kwargs)
        ident = threading.get_ident()
        pruned_by[ident] = pruned_by.get(ident, 0) + done.events
        return done

    monkeypatch.setattr(retention, "prune", counted)
    engines = [sending.WebhookSender(f"engine-{n}", clock) for n in "ab"]

    def looked(until) -> None:
        def poke() -> bool:
            for engine in engines:
                engine.maybe()
            return until()

        qtbot.waitUntil(poke, timeout=WAIT)

    try:
        looked(lambda: len(receiver.received) == 3 and WebhookAttempt.select().count() == OLD + 3)
        clock.advance(retention.RETENTION + timedelta(days=10))  # the old history: 60 days old
        with writing():  # a later write: the next looks read the old failure again
            Deployment.update(**stamped(clock.now())).where(Deployment.id == failed).execute()
        looked(lambda: WebhookEvent.select().count() == 2)
        clock.advance(retention.PRUNE_EVERY)
        looked(lambda: all(e._pruned_at == clock.now() for e in engines))
    finally:
        assert all(engine.join(10) for engine in engines)
    assert receiver.events() == {
        ("run.approved", run_id): 1,
        ("run.completed_with_failures", run_id): 1,
        ("deployment.failed", run_id): 1,
    }
    assert sorted(e.kind for e in WebhookEvent.select()) == [
        "run.approved",
        "run.completed_with_failures",
    ]
    assert WebhookAttempt.select().count() == 2
    assert sum(pruned_by.values()) == OLD + 1  # each event deleted once, by one of them
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []
