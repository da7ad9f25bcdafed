"""The engine end to end on the simulated gateway, checked in the database and event logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core.runs import CONFIG_ONLY
from appupdater.engine.clock import ManualClock
from appupdater.errors import RunError
from appupdater.store.models import (
    AppVersion,
    Deployment,
    DeviceApp,
    UpdateRun,
)
from tests.engine.helpers import after_steps, approve, at, deployment, device_id, events, state

WAIT = 15_000


def installed(name: str) -> set[str]:
    query = (
        DeviceApp.select(AppVersion.version)
        .join(AppVersion, on=DeviceApp.installed == AppVersion.id)
        .where(DeviceApp.device == device_id(name))
    )
    return {v for (v,) in query.tuples()}


def test_configuration_first_then_deployments(qtbot, sim_devices, make_engine):
    run_id = approve(("line-monitor", "edge-gateway"), devices=["press-01", "press-02"])
    assert Deployment.select().count() == 0  # nothing before the engine configures the run
    engine = make_engine()
    with qtbot.waitSignal(engine.run_completed, timeout=WAIT) as completed:
        engine.start()
    assert completed.args == [run_id, 2, 0]
    run = UpdateRun.get_by_id(run_id)
    for name in ("press-01", "press-02"):
        d = deployment(run_id, name)
        assert d.state == "succeeded" and d.progress == 100 and d.attempts == 1
        assert run.configured_at <= d.started_at <= d.finished_at
        log = events(d.id)
        assert log[0].startswith("configuration updated")
        assert log[1] == f"attempt 1 started on {name}"
        assert any("downloading" in e for e in log) and any("verifying" in e for e in log)
        assert log[-1].startswith(f"deployed to {name}")
    # one deployment for two applications; what was deployed is now installed
    assert Deployment.select().where(Deployment.device == device_id("press-01")).count() == 1
    assert installed("press-01") == {"2.1.0-rc.1", "3.10"}


def test_now_scheduled_and_none(qtbot, sim_devices, make_engine):
    clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    run_id = approve(
        devices=["press-01", "press-02", "press-03"],
        actions={"press-02": at(60, clock.now()), "press-03": CONFIG_ONLY},
        now=clock.now(),
    )
    engine = make_engine(clock=clock)
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "press-01") == "succeeded", timeout=WAIT)
    assert state(run_id, "press-02") == "scheduled"
    assert state(run_id, "press-03") is None  # configuration only: no deployment
    assert (
        DeviceApp.get(DeviceApp.device == device_id("press-03")).configured.version == "2.1.0-rc.1"
    )
    clock.advance(timedelta(minutes=59))
    after_steps(qtbot, engine, 2)  # whole scheduling steps with the clock short of the time
    assert state(run_id, "press-02") == "scheduled"
    clock.advance(timedelta(minutes=1, seconds=1))
    qtbot.waitUntil(lambda: state(run_id, "press-02") == "succeeded", timeout=WAIT)
    assert "scheduled time reached; queued" in events(deployment(run_id, "press-02").id)


def test_scheduled_time_passed_while_closed_starts_late(qtbot, sim_devices, make_engine):
    approved = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    run_id = approve(devices=["press-02"], actions={"press-02": at(30, approved)}, now=approved)
    clock = ManualClock(approved + timedelta(hours=2, minutes=30))
    make_engine(clock=clock).start()
    qtbot.waitUntil(lambda: state(run_id, "press-02") == "succeeded", timeout=WAIT)
    assert any("started late by 2 h" in e for e in events(deployment(run_id, "press-02").id))


def test_a_later_run_supersedes_a_waiting_deployment_of_the_device(qtbot, sim_devices, make_engine):
    """Two runs for press-03 approved before the engine starts: the later one's deployment
    replaces the earlier's, so press-03 is deployed once."""
    first = approve(("line-monitor",), devices=["press-03"])
    second = approve(("edge-gateway",), devices=["press-01"])
    later = approve(("line-monitor",), devices=["press-03"])
    engine = make_engine(concurrency=8)
    engine.start()
    qtbot.waitUntil(
        lambda: state(second, "press-01") == state(later, "press-03") == "succeeded",
        timeout=WAIT,
    )
    replaced = deployment(first, "press-03")
    assert (replaced.state, replaced.started_at) == ("cancelled", None)
    assert replaced.last_message.startswith(f"superseded by run #{later}")


def test_transient_failures_retry_then_fail(qtbot, sim_devices, make_engine):
    clock = ManualClock()
    run_id = approve(devices=["offline-01"], now=clock.now())
    engine = make_engine(clock=clock, max_attempts=3, backoff=timedelta(seconds=30))
    engine.start()
    d = lambda: deployment(run_id, "offline-01")  # noqa: E731
    qtbot.waitUntil(lambda: state(run_id, "offline-01") == "retrying", timeout=WAIT)
    assert d().next_attempt_at == d().updated_at + timedelta(seconds=30)
    assert "retrying in 30 s (attempt 2 of 3)" in d().last_message
    clock.advance(timedelta(seconds=31))
    qtbot.waitUntil(lambda: d().state == "retrying" and d().attempts == 2, timeout=WAIT)
    assert "retrying in 60 s (attempt 3 of 3)" in d().last_message  # backoff doubles
    clock.advance(timedelta(seconds=61))
    qtbot.waitUntil(lambda: d().state == "failed", timeout=WAIT)
    assert d().attempts == 3
    assert (
        d().last_message
        == "offline-01 unreachable (simulated: sim.offline) (gave up after 3 attempts)"
    )
    log = events(d().id)
    assert sum("started on offline-01" in e for e in log) == 3
    assert sum(e == "next attempt is due; queued" for e in log) == 2


def test_permanent_failure_fails_at_once(qtbot, sim_devices, make_engine):
    run_id = approve(devices=["broken-01"])
    engine = make_engine()
    with qtbot.waitSignal(engine.deployment_failed, timeout=WAIT) as failed:
        engine.start()
    d = deployment(run_id, "broken-01")
    assert d.state == "failed" and d.attempts == 1
    assert "container exited with code 137" in d.last_message
    assert failed.args[1] == "broken-01" and failed.args[2] == d.last_message
    assert installed("broken-01") == {"1.0.0"}


def test_timeout_is_a_transient_failure(qtbot, sim_devices, make_engine):
    run_id = approve(devices=["slow-01"])
    make_engine(timeout=timedelta(seconds=0.3), max_attempts=1).start()
    qtbot.waitUntil(lambda: state(run_id, "slow-01") == "failed", timeout=WAIT)
    assert deployment(run_id, "slow-01").last_message == (
        "slow-01 did not finish within 0.005 min (timeout) (gave up after 1 attempt)"
    )


def test_cancel_in_each_state(qtbot, sim_devices, make_engine):
    clock = ManualClock()
    now = clock.now()
    run_id = approve(
        devices=["press-01", "press-02", "slow-01", "offline-01"],
        actions={"press-02": at(60, now)},
        now=now,
    )
    engine = make_engine(clock=clock, concurrency=2)
    engine.start()
    qtbot.waitUntil(
        lambda: state(run_id, "slow-01") == "running" and state(run_id, "offline-01") == "retrying",
        timeout=WAIT,
    )
    ids = {n: deployment(run_id, n).id for n in ("press-02", "slow-01", "offline-01")}
    stopped, asked = engine.cancel(list(ids.values()))
    assert sorted(stopped) == sorted([ids["press-02"], ids["offline-01"]])
    assert asked == [ids["slow-01"]]
    assert state(run_id, "press-02") == "cancelled"  # scheduled: at once
    assert state(run_id, "offline-01") == "cancelled"  # retrying: at once
    qtbot.waitUntil(lambda: state(run_id, "slow-01") == "cancelled", timeout=WAIT)  # running: stops
    assert "cancel requested; asking the device to stop" in events(ids["slow-01"])
    assert installed("slow-01") == {"1.0.0"}


def test_cancel_queued_before_any_engine_runs(qtbot, sim_devices, make_engine):
    from appupdater.core import actions
    from appupdater.core.runs import apply_configuration

    run_id = approve(devices=["press-01"])
    apply_configuration(run_id)
    d = deployment(run_id, "press-01")
    assert d.state == "queued"
    stopped, _ = actions.cancel([d.id], datetime.now(UTC))
    assert stopped == [d.id] and state(run_id, "press-01") == "cancelled"
    engine = make_engine()
    engine.start()
    after_steps(qtbot, engine, 2)  # whole steps that could have claimed it
    assert state(run_id, "press-01") == "cancelled"
    assert deployment(run_id, "press-01").attempts == 0


def test_retry_deploy_now_and_reschedule(qtbot, sim_devices, make_engine):
    clock = ManualClock()
    now = clock.now()
    run_id = approve(
        devices=["broken-01", "press-02", "press-01"],
        actions={"press-02": at(120, now), "press-01": at(120, now)},
        now=now,
    )
    engine = make_engine(clock=clock)
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "broken-01") == "failed", timeout=WAIT)
    # retry: fix the device first, then retry → succeeds with fresh attempts
    from appupdater.store.models import Device

    Device.update(labels={}).where(Device.name == "broken-01").execute()
    assert engine.retry([deployment(run_id, "broken-01").id]) == [
        deployment(run_id, "broken-01").id
    ]
    qtbot.waitUntil(lambda: state(run_id, "broken-01") == "succeeded", timeout=WAIT)
    assert deployment(run_id, "broken-01").attempts == 1
    assert "retry requested; queued" in events(deployment(run_id, "broken-01").id)
    # deploy now: a scheduled one starts without waiting
    engine.deploy_now([deployment(run_id, "press-02").id])
    qtbot.waitUntil(lambda: state(run_id, "press-02") == "succeeded", timeout=WAIT)
    # reschedule: the past is refused, a later time moves it
    target = deployment(run_id, "press-01").id
    with pytest.raises(RunError, match="in the past"):
        engine.reschedule([target], now - timedelta(minutes=1))
    later = now + timedelta(hours=5)
    assert engine.reschedule([target], later) == [target]
    assert Deployment.get_by_id(target).scheduled_at == later
    clock.advance(timedelta(hours=3))
    after_steps(qtbot, engine, 2)
    assert state(run_id, "press-01") == "scheduled"
    clock.advance(timedelta(hours=2, seconds=1))
    qtbot.waitUntil(lambda: state(run_id, "press-01") == "succeeded", timeout=WAIT)


def test_interrupted_by_a_dead_engine_is_requeued(qtbot, sim_devices, make_engine):
    from appupdater.core import attempts, scheduling
    from appupdater.core.runs import apply_configuration

    run_id = approve(devices=["press-01"])
    apply_configuration(run_id)
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    scheduling.heartbeat("dead-engine", "elsewhere", 1, long_ago)
    [job] = scheduling.claim("dead-engine", long_ago, 5)
    assert state(run_id, "press-01") == "running"
    make_engine().start()
    qtbot.waitUntil(lambda: state(run_id, "press-01") == "succeeded", timeout=WAIT)
    d = deployment(run_id, "press-01")
    assert d.attempts == 1  # the interrupted attempt does not count
    log = events(d.id)
    assert any(e.startswith("interrupted: the engine running it stopped") for e in log)
    # the dead engine's late report changes nothing
    assert not attempts.succeed(job, datetime.now(UTC), "late", [])


def test_stop_interrupts_and_the_next_start_resumes(qtbot, sim_devices, make_engine):
    run_id = approve(devices=["slow-01"])
    first = make_engine()
    first.start()
    qtbot.waitUntil(lambda: state(run_id, "slow-01") == "running", timeout=WAIT)
    assert first.stop(interrupt=True, msecs=10_000)
    d = deployment(run_id, "slow-01")
    assert d.state == "queued" and d.attempts == 0
    assert "interrupted: App Updater quit; it resumes at the next start" in events(d.id)
    from appupdater.store.models import Device

    Device.update(labels={"sim.latency_s": 0.05}).where(Device.name == "slow-01").execute()
    make_engine().start()
    qtbot.waitUntil(lambda: state(run_id, "slow-01") == "succeeded", timeout=WAIT)


def test_stop_also_interrupts_an_attempt_claimed_while_it_stops(
    qtbot, sim_devices, make_engine, monkeypatch
):
    """The scheduling step commits a claim (the deployment reads `running`) before it hands
    the attempt to a worker. A stop() in between must still interrupt that attempt, or the app
    waits for a whole slow deployment when it quits."""
    import threading

    import appupdater.engine.engine as engine_module

    run_id = approve(devices=["slow-01"])
    claimed, release = threading.Event(), threading.Event()
    real_claim = engine_module.scheduling.claim

    def claim_then_pause(*args, **kwargs):
        jobs = real_claim(*args, **kwargs)
        if jobs:
            claimed.set()
            release.wait(10)
        return jobs

    monkeypatch.setattr(engine_module.scheduling, "claim", claim_then_pause)
    engine = make_engine()
    engine.start()
    qtbot.waitUntil(claimed.is_set, timeout=WAIT)
    assert state(run_id, "slow-01") == "running"
    threading.Timer(0.2, release.set).start()  # the step goes on while stop() waits for it

    assert engine.stop(interrupt=True, msecs=10_000)
    d = deployment(run_id, "slow-01")
    assert d.state == "queued" and d.attempts == 0
    assert "interrupted: App Updater quit; it resumes at the next start" in events(d.id)
