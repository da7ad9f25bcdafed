"""The engine tells webhooks what happened, in the background, on a hand-driven clock: each
event once with a valid signature, retried after its backoff, a hanging receiver holding up no
other, and what another process decided (a pause) told too."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from appupdater.core import webhooks
from appupdater.core.run_decisions import abort, pause
from appupdater.engine import webhooks as sending
from appupdater.engine.clock import ManualClock
from appupdater.store.models import UpdateRun
from appupdater.store.team_models import WebhookAttempt, WebhookEvent
from tests.engine.helpers import after_steps, approve, state

WAIT = 15_000
START = datetime(2026, 11, 28, 9, 0, 10, tzinfo=UTC)


def test_each_event_arrives_once_with_a_valid_signature(qtbot, sim_devices, make_engine, receiver):
    clock = ManualClock(START)
    webhooks.add_webhook(receiver.url(), secret="s3cret", now=clock.now())
    run_id = approve(devices=["press-01", "broken-01"], now=clock.now())
    engine = make_engine(clock=clock, max_attempts=1)
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "broken-01") == "failed", timeout=WAIT)
    qtbot.waitUntil(lambda: state(run_id, "press-01") == "succeeded", timeout=WAIT)
    qtbot.waitUntil(
        lambda: ("run.completed_with_failures", run_id) in receiver.events(), timeout=WAIT
    )
    assert ("deployment.failed", run_id) not in receiver.events()  # its minute has not ended
    clock.advance(timedelta(minutes=1))
    qtbot.waitUntil(lambda: ("deployment.failed", run_id) in receiver.events(), timeout=WAIT)
    after_steps(qtbot, engine, 4)
    assert receiver.events() == {
        ("run.approved", run_id): 1,
        ("run.completed_with_failures", run_id): 1,
        ("deployment.failed", run_id): 1,
    }
    assert all(r.signed_with("s3cret") for r in receiver.received)
    bodies = {b["event"]: b for b in receiver.bodies()}
    done = bodies["run.completed_with_failures"]
    assert done["run"]["approved_by"] == "test"
    assert done["run"]["status"] == "completed with failures"
    assert (done["counts"]["succeeded"], done["counts"]["failed"]) == (1, 1)
    assert done["summary"] == f"Run #{run_id} completed with failures: 1 succeeded, 1 failed."
    failed = bodies["deployment.failed"]
    assert [d["device"] for d in failed["failed_devices"]] == ["broken-01"]
    assert failed["summary"] == f"Run #{run_id}: 1 deployment failed (broken-01)."
    assert "http" not in " ".join(b["summary"] for b in bodies.values())


def test_a_pause_and_a_request_for_approval_written_by_another_process_notify(
    qtbot, sim_devices, make_engine, receiver
):
    clock = ManualClock(START)
    webhooks.add_webhook(receiver.url(), events="run.paused,run.awaiting_approval", now=clock.now())
    engine = make_engine(clock=clock)
    engine.start()
    after_steps(qtbot, engine, 2)
    slow = approve(devices=["slow-01"], now=clock.now())
    pause(slow, "alice", clock.now(), "looks wrong")  # as `appupdater pause` would
    waiting = approve(devices=["press-02"], now=clock.now())
    UpdateRun.update(approval="awaiting", requested_by="bob", requested_at=clock.now()).where(
        UpdateRun.id == waiting
    ).execute()
    qtbot.waitUntil(lambda: len(receiver.received) == 2, timeout=WAIT)
    after_steps(qtbot, engine, 3)
    assert receiver.events() == {("run.paused", slow): 1, ("run.awaiting_approval", waiting): 1}
    bodies = {b["event"]: b for b in receiver.bodies()}
    assert bodies["run.paused"]["summary"] == f"Run #{slow} was paused by alice: looks wrong."
    assert bodies["run.paused"]["run"]["status"] == "paused"
    assert bodies["run.awaiting_approval"]["run"]["status"] == "awaiting approval"
    assert "requested by bob" in bodies["run.awaiting_approval"]["summary"]


def test_an_abort_a_rejection_and_an_expiry_notify_once_each(
    qtbot, sim_devices, make_engine, receiver
):
    """The brakes and the refusals reach the team's channel too, whoever wrote them."""
    clock = ManualClock(START)
    webhooks.add_webhook(
        receiver.url(),
        events="run.aborted,run.rejected,run.approval_expired",
        now=clock.now(),
    )
    engine = make_engine(clock=clock)
    engine.start()
    after_steps(qtbot, engine, 2)
    slow = approve(devices=["slow-01"], now=clock.now())
    abort(slow, "alice", clock.now())  # as `appupdater abort` would
    rejected = approve(devices=["press-02"], now=clock.now())
    expired = approve(devices=["press-03"], now=clock.now())
    for run_id, approval, note in (
        (rejected, "rejected", "wrong week"),
        (expired, "expired", None),
    ):
        UpdateRun.update(
            approval=approval,
            requested_by="bob",
            requested_at=clock.now(),
            decided_by="carol" if note else None,
            decided_at=clock.now(),
            decision_note=note,
        ).where(UpdateRun.id == run_id).execute()
    qtbot.waitUntil(lambda: len(receiver.received) == 3, timeout=WAIT)
    after_steps(qtbot, engine, 3)
    assert receiver.events() == {
        ("run.aborted", slow): 1,
        ("run.rejected", rejected): 1,
        ("run.approval_expired", expired): 1,
    }
    bodies = {b["event"]: b for b in receiver.bodies()}
    assert bodies["run.aborted"]["summary"].startswith(f"Run #{slow} was aborted by alice: ")
    assert bodies["run.aborted"]["run"]["status"] == "aborted"
    assert bodies["run.rejected"]["summary"] == (
        f"Run #{rejected} was rejected by carol: wrong week. Nothing was changed."
    )
    assert bodies["run.approval_expired"]["summary"] == (
        f"Run #{expired} requested by bob expired without a decision. Nothing was changed."
    )


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(
    qtbot, sim_devices, make_engine, receiver
):
    clock = ManualClock(START)
    webhooks.add_webhook(receiver.url(), events="run.approved", now=clock.now())
    receiver.answers = [500, 500]

    def attempts() -> int:  # recorded: the sender has seen the answer
        return WebhookAttempt.select().count()

    run_id = approve(devices=["press-01"], now=clock.now())
    engine = make_engine(clock=clock)
    engine.start()
    qtbot.waitUntil(lambda: attempts() == 1, timeout=WAIT)  # its backoff counted from now
    after_steps(qtbot, engine, 3)
    assert len(receiver.received) == 1  # not before its backoff
    clock.advance(timedelta(seconds=10))
    qtbot.waitUntil(lambda: attempts() == 2, timeout=WAIT)
    clock.advance(timedelta(seconds=30))
    after_steps(qtbot, engine, 3)
    assert len(receiver.received) == 2
    clock.advance(timedelta(seconds=30))
    qtbot.waitUntil(lambda: WebhookEvent.get().state == "delivered", timeout=WAIT)
    after_steps(qtbot, engine, 3)
    assert receiver.events() == {("run.approved", run_id): 3}
    statuses = [a.status for a in WebhookAttempt.select().order_by(WebhookAttempt.id)]
    assert statuses == [500, 500, 200]
    assert WebhookEvent.get().attempts == 3


def test_a_receiver_that_hangs_holds_up_no_other(
    qtbot, sim_devices, make_engine, receiver, monkeypatch
):
    monkeypatch.setattr(sending, "TIMEOUT_S", 20.0)
    clock = ManualClock(START)
    webhooks.add_webhook(receiver.url("/hangs"), events="run.approved", now=clock.now())
    webhooks.add_webhook(receiver.url("/answers"), events="run.approved", now=clock.now())
    receiver.hanging = {"/hangs"}
    run_id = approve(devices=["press-01"], now=clock.now())
    engine = make_engine(clock=clock)
    engine.start()
    qtbot.waitUntil(lambda: receiver.events("/answers") == {("run.approved", run_id): 1})
    assert receiver.events("/hangs") == {}
    receiver.release.set()
    qtbot.waitUntil(lambda: receiver.events("/hangs") == {("run.approved", run_id): 1})


def test_a_stopping_engine_does_not_wait_for_a_hanging_receiver(
    qtbot, sim_devices, make_engine, receiver, monkeypatch
):
    monkeypatch.setattr(sending, "TIMEOUT_S", 30.0)
    clock = ManualClock(START)
    webhooks.add_webhook(receiver.url("/hangs"), events="run.approved", now=clock.now())
    receiver.hanging = {"/hangs"}
    approve(devices=["press-01"], now=clock.now())
    engine = make_engine(clock=clock)
    engine.start()
    qtbot.waitUntil(lambda: WebhookEvent.get_or_none(state="sending") is not None, timeout=WAIT)
    started = time.monotonic()
    assert engine.stop(interrupt=True, msecs=20_000)  # clean: the writer closed, claims freed
    assert time.monotonic() - started < sending.TIMEOUT_S  # not held by the delivery
    receiver.release.set()  # the delivery, on its own, ends and is recorded
    qtbot.waitUntil(lambda: WebhookEvent.get().state == "delivered", timeout=WAIT)
    engine.start()  # and a restarted engine looks again
    after_steps(qtbot, engine, 2)
    assert engine._webhooks._looker is not None and engine._webhooks._looker.is_alive()
