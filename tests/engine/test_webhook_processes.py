"""Two `appupdater engine` processes on one database, each finding the same events: the
receiver's own log shows every event exactly once."""

from __future__ import annotations

import pytest

from appupdater.core import webhooks
from appupdater.core.planning import Selection, plan_update
from appupdater.core.run_decisions import pause, resume
from appupdater.core.runs import create_run
from appupdater.store.models import Device, UpdateRun
from appupdater.store.team_models import WebhookEvent
from tests.engine import processes
from tests.engine.processes import count, stop, wait_for
from tests.helpers import behind_on_line_monitor

pytestmark = [pytest.mark.slow, pytest.mark.integration]
DEVICES = 30


def test_two_engines_deliver_each_event_once(db, db_path, receiver):
    webhooks.add_webhook(receiver.url(), secret="s3cret")
    behind_on_line_monitor(DEVICES)
    UpdateRun.delete().execute()  # its devices, in two runs of half of them each
    ids = [d for (d,) in Device.select(Device.id).order_by(Device.id).tuples()]
    plan = plan_update([Selection("line-monitor")])
    first = create_run(plan, approved_by="alice", devices=ids[: DEVICES // 2])
    engines = [
        processes.start_engine(str(db_path), latency=0.05, concurrency=4, stale_after=1.5)
        for _ in range(2)
    ]
    try:
        wait_for(lambda: count("succeeded") >= 5, 60, *engines)
        pause(first, "alice", _now(), "checking")  # another process, as `appupdater pause`
        wait_for(lambda: ("run.paused", first) in receiver.events(), 20, *engines)
        resume(first, "alice", _now())
        wait_for(lambda: count("succeeded") == DEVICES // 2, 60, *engines)
        second = create_run(plan, approved_by="bob", devices=ids[DEVICES // 2 :])
        expected = {
            ("run.approved", first): 1,
            ("run.paused", first): 1,
            ("run.completed", first): 1,
            ("run.approved", second): 1,
            ("run.completed", second): 1,
        }
        wait_for(lambda: set(receiver.events()) >= set(expected), 20, *engines)
        wait_for(
            lambda: WebhookEvent.select().where(WebhookEvent.state != "delivered").count() == 0,
            30,
            *engines,
        )
    finally:
        outputs = [stop(e) for e in engines]
    assert receiver.events() == expected, (receiver.events(), outputs)
    assert all(r.signed_with("s3cret") for r in receiver.received)
    assert not any("webhooks skipped" in output for output in outputs), outputs


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)
