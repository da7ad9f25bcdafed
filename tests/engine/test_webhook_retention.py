"""The engine prunes webhook history in the background (on a hand-driven clock), and a
receiver gets each event once across a prune, also when a later look (or a restarted engine)
sees the old failure again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appupdater.core import webhook_retention as retention
from appupdater.core import webhooks
from appupdater.engine.clock import ManualClock
from appupdater.store.db import writing
from appupdater.store.models import Deployment
from appupdater.store.revisions import stamped
from appupdater.store.team_models import WebhookAttempt, WebhookEvent
from tests.engine.helpers import after_steps, approve, deployment, state

WAIT = 15_000
START = datetime(2026, 11, 28, 9, 0, 10, tzinfo=UTC)
TOLD = {"run.approved", "run.completed_with_failures", "deployment.failed"}


def _kinds() -> set[str]:
    return {e.kind for e in WebhookEvent.select(WebhookEvent.kind)}


def test_a_receiver_gets_each_event_once_across_a_prune(
    qtbot, sim_devices, make_engine, receiver, monkeypatch
):
    monkeypatch.setattr(retention, "KEEP_LAST", 0)  # so that the failure's event can go
    clock = ManualClock(START)
    webhooks.add_webhook(receiver.url(), now=clock.now())
    run_id = approve(devices=["press-01", "broken-01"], now=clock.now())
    engine = make_engine(clock=clock, max_attempts=1)
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "broken-01") == "failed", timeout=WAIT)
    qtbot.waitUntil(lambda: state(run_id, "press-01") == "succeeded", timeout=WAIT)
    clock.advance(timedelta(minutes=1))  # the failures' minute has ended
    qtbot.waitUntil(lambda: len(receiver.received) == 3, timeout=WAIT)
    qtbot.waitUntil(lambda: WebhookAttempt.select().count() == 3, timeout=WAIT)
    assert _kinds() == TOLD

    clock.advance(retention.RETENTION + timedelta(hours=1))
    qtbot.waitUntil(lambda: "deployment.failed" not in _kinds(), timeout=WAIT)
    assert _kinds() == {"run.approved", "run.completed_with_failures"}  # told once per run
    assert WebhookAttempt.select().count() == 2
    # a later write to the failed deployment: the next look reads it again
    failed = deployment(run_id, "broken-01").id
    with writing():
        Deployment.update(**stamped(clock.now())).where(Deployment.id == failed).execute()
    after_steps(qtbot, engine, 3)
    assert engine.stop(interrupt=True, msecs=20_000)
    engine.start()  # a first look again
    after_steps(qtbot, engine, 3)
    assert receiver.events() == {(kind, run_id): 1 for kind in TOLD}
    assert _kinds() == {"run.approved", "run.completed_with_failures"}
