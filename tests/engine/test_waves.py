"""Runs in waves on the simulated gateway with a hand-driven clock: waves open in order and only
after the soak time, the failure limit pauses a run (no device of a later wave is contacted),
resume, abort and next-wave, a scheduled device waits while its run is paused, and an engine
started again during a soak opens the right wave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core import run_decisions
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction, create_run
from appupdater.core.waves import Strategy, parse_waves
from appupdater.engine.clock import ManualClock
from appupdater.store.models import DeployAction, Deployment, UpdateRun
from appupdater.store.team_models import AuditEntry
from tests.engine.helpers import after_steps, deployment, device_id, events, state
from tests.helpers import CATALOG, devices_yaml, load_yaml

WAIT = 15_000
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NAMES = ["w-01", "w-02", "w-03", "w-04", "w-05"]


@pytest.fixture
def wave_fleet(db):
    """Five plain simulated devices w-01 … w-05 and broken-01, whose attempts always fail."""
    plain = "applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}"
    load_yaml(
        CATALOG
        + devices_yaml(
            *(f"{{name: {name}, {plain}}}" for name in NAMES),
            f"{{name: broken-01, labels: {{sim.failure_rate: 1}}, {plain}}}",
        )
    )


def approve_in_waves(spec, waves=None, soak=0.0, limit=10.0, actions=None, devices=None):
    plan = plan_update([Selection("line-monitor")])
    chosen = [device_id(n) for n in (devices or [*NAMES, "broken-01"])]
    return create_run(
        plan,
        {device_id(n): a for n, a in (actions or {}).items()},
        approved_by="alice",
        devices=chosen,
        now=START,
        strategy=Strategy(parse_waves(spec), soak_minutes=soak, max_failures_percent=limit),
        waves=None if waves is None else {device_id(n): w for n, w in waves.items()},
    )


def states(run_id, names):
    return [state(run_id, n) for n in names]


def never_contacted(run_id, name):
    d = deployment(run_id, name)
    return d.started_at is None and d.attempts == 0


def test_waves_open_in_order_and_only_after_the_soak(qtbot, wave_fleet, make_engine):
    clock = ManualClock(START)
    run_id = approve_in_waves("1,2,rest", soak=10, devices=NAMES)
    engine = make_engine(clock=clock)
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "w-01") == "succeeded", timeout=WAIT)
    assert states(run_id, NAMES[1:]) == ["held"] * 4
    clock.advance(timedelta(minutes=9, seconds=59))
    after_steps(qtbot, engine, 2)
    assert states(run_id, NAMES[1:]) == ["held"] * 4
    clock.advance(timedelta(seconds=2))
    qtbot.waitUntil(lambda: states(run_id, NAMES[1:3]) == ["succeeded"] * 2, timeout=WAIT)
    assert states(run_id, NAMES[3:]) == ["held"] * 2
    assert UpdateRun.get_by_id(run_id).open_wave == 2
    assert any(
        e.startswith("wave 2 opened (its wave before finished and the soak time of 10 min")
        for e in events(deployment(run_id, "w-02").id)
    )
    clock.advance(timedelta(minutes=10, seconds=1))
    qtbot.waitUntil(lambda: states(run_id, NAMES[3:]) == ["succeeded"] * 2, timeout=WAIT)
    first, second, third = (deployment(run_id, n) for n in ("w-01", "w-02", "w-05"))
    assert first.finished_at + timedelta(minutes=10) <= second.started_at
    assert second.finished_at + timedelta(minutes=10) <= third.started_at
    assert [deployment(run_id, n).wave for n in NAMES] == [1, 2, 2, 3, 3]


def test_a_failing_canary_pauses_the_run_and_resume_goes_on(qtbot, wave_fleet, make_engine):
    clock = ManualClock(START)
    waves = {"broken-01": 1, **{n: 2 for n in NAMES}}
    run_id = approve_in_waves("1,rest", waves=waves)
    engine = make_engine(clock=clock)
    with qtbot.waitSignal(engine.run_paused, timeout=WAIT) as paused:
        engine.start()
    reason = "1 of 1 failed in wave 1, limit 10 %"
    assert paused.args == [run_id, reason]
    run = UpdateRun.get_by_id(run_id)
    assert (run.paused_by, run.pause_reason, run.paused_at) == ("failure limit", reason, START)
    after_steps(qtbot, engine, 3)
    assert states(run_id, NAMES) == ["held"] * 5
    assert all(never_contacted(run_id, n) for n in NAMES)

    decision = engine.resume(run_id, "bob")
    assert decision.changed
    qtbot.waitUntil(lambda: states(run_id, NAMES) == ["succeeded"] * 5, timeout=WAIT)
    run = UpdateRun.get_by_id(run_id)
    assert (run.paused_at, run.resumed_by, run.accepted_failures) == (None, "bob", 1)
    assert not engine.resume(run_id, "bob").changed  # idempotent: says it is not paused


def test_abort_cancels_the_rest(qtbot, wave_fleet, make_engine):
    clock = ManualClock(START)
    run_id = approve_in_waves("1,rest", soak=30, devices=NAMES)
    engine = make_engine(clock=clock)
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "w-01") == "succeeded", timeout=WAIT)
    decision = engine.abort(run_id, "carol")
    assert decision.changed and len(decision.cancelled) == 4
    assert states(run_id, NAMES) == ["succeeded"] + ["cancelled"] * 4
    assert "cancelled: run aborted by carol" in events(deployment(run_id, "w-02").id)
    run = UpdateRun.get_by_id(run_id)
    assert (run.aborted_by, run.aborted_at) == ("carol", START)
    clock.advance(timedelta(hours=1))
    after_steps(qtbot, engine, 2)
    assert states(run_id, NAMES[1:]) == ["cancelled"] * 4
    assert not engine.abort(run_id, "carol").changed
    # nothing of an aborted run is started again: retried, deployed now or rescheduled, it
    # would wait for good; resuming it would record a run going on that never does
    cancelled = [deployment(run_id, n).id for n in NAMES[1:]]
    assert engine.retry(cancelled) == []
    assert engine.reschedule(cancelled, clock.now() + timedelta(hours=2)) == []
    assert states(run_id, NAMES[1:]) == ["cancelled"] * 4
    refused = AuditEntry.select().where(AuditEntry.action == "retry").get()
    assert refused.outcome == (
        "refused: nothing to retry: the 4 selected deployments had their run aborted: an "
        "aborted run starts nothing again"
    )
    resumed = engine.resume(run_id, "carol")
    assert not resumed.changed
    assert resumed.message.startswith(f"run #{run_id} was aborted (by carol, ")
    assert resumed.message.endswith("it cannot be resumed; plan a new run")


def test_next_wave_skips_the_soak(qtbot, wave_fleet, make_engine):
    clock = ManualClock(START)
    run_id = approve_in_waves("1,1,rest", soak=60, devices=NAMES)
    engine = make_engine(clock=clock)
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "w-01") == "succeeded", timeout=WAIT)
    decision = engine.next_wave(run_id, "dave")
    assert (decision.changed, decision.message) == (True, f"run #{run_id}: wave 2 of 3 started")
    qtbot.waitUntil(lambda: state(run_id, "w-02") == "succeeded", timeout=WAIT)
    assert states(run_id, NAMES[2:]) == ["held"] * 3  # the soak after wave 2 still applies
    assert any("started early by dave" in e for e in events(deployment(run_id, "w-02").id))


def test_a_scheduled_device_waits_while_its_run_is_paused(qtbot, wave_fleet, make_engine):
    clock = ManualClock(START)
    later = DeviceAction(DeployAction.AT, START + timedelta(minutes=30))
    run_id = approve_in_waves(
        "1,rest",
        waves={"broken-01": 1, "w-01": 2},
        actions={"w-02": later},
        devices=["broken-01", "w-01", "w-02"],
    )
    engine = make_engine(clock=clock)
    with qtbot.waitSignal(engine.run_paused, timeout=WAIT):
        engine.start()
    clock.advance(timedelta(minutes=31))
    after_steps(qtbot, engine, 3)
    assert states(run_id, ["w-01", "w-02"]) == ["held", "scheduled"]
    assert never_contacted(run_id, "w-02")
    engine.resume(run_id, "bob")
    qtbot.waitUntil(
        lambda: states(run_id, ["w-01", "w-02"]) == ["succeeded", "succeeded"], timeout=WAIT
    )
    assert deployment(run_id, "w-02").wave is None


def test_a_pause_stops_queued_deployments_of_the_open_wave(qtbot, wave_fleet, make_engine):
    """A pause written before any engine configured the run (here: straight to the database,
    as another process would) keeps its queued deployments from starting."""
    clock = ManualClock(START)
    run_id = approve_in_waves("rest", devices=NAMES)
    run_decisions.pause(run_id, "erin", START)
    engine = make_engine(clock=clock, concurrency=1)
    engine.start()
    after_steps(qtbot, engine, 3)
    assert states(run_id, NAMES) == ["queued"] * 5
    assert not run_decisions.pause(run_id, "erin", START).changed
    engine.resume(run_id, "erin")
    qtbot.waitUntil(lambda: states(run_id, NAMES) == ["succeeded"] * 5, timeout=WAIT)


def test_an_engine_started_again_during_a_soak_opens_the_right_wave(qtbot, wave_fleet, make_engine):
    clock = ManualClock(START)
    run_id = approve_in_waves("1,1,rest", soak=10, devices=NAMES)
    first = make_engine(clock=clock)
    first.start()
    qtbot.waitUntil(lambda: state(run_id, "w-01") == "succeeded", timeout=WAIT)
    assert first.stop(interrupt=True, msecs=WAIT)
    clock.advance(timedelta(minutes=5))
    second = make_engine(clock=clock)
    second.start()
    after_steps(qtbot, second, 2)
    assert states(run_id, NAMES[1:]) == ["held"] * 4
    clock.advance(timedelta(minutes=5, seconds=1))
    qtbot.waitUntil(lambda: state(run_id, "w-02") == "succeeded", timeout=WAIT)
    assert states(run_id, NAMES[2:]) == ["held"] * 3
    assert UpdateRun.get_by_id(run_id).open_wave == 2
    assert Deployment.select().where(Deployment.state == "running").count() == 0
