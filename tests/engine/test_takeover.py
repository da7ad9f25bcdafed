"""An engine whose attempt another engine took over (it was thought dead: suspended, stalled)
stops that attempt at its next scheduling step, even when the device reports no progress, says
so in its log, and writes nothing more for it."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core import scheduling
from appupdater.core.runs import apply_configuration
from appupdater.engine.clock import ManualClock
from appupdater.engine.engine import Engine
from appupdater.engine.gateways.base import Gateway, ProbeResult, Stopped
from appupdater.engine.settings import EngineSettings
from appupdater.errors import DatabaseBusyError
from appupdater.store.db import writing
from appupdater.store.models import Deployment, EngineInstance
from tests.engine.helpers import after_steps, approve, deployment, events, state

WAIT = 15_000


class QuietInstall(Gateway):
    """A long install that reports nothing until it is told to stop."""

    def __init__(self) -> None:
        self.stopped = threading.Event()

    def probe(self, device):
        return ProbeResult(True)

    def deploy(self, job, progress, should_stop):
        while not should_stop():
            self.stopped.wait(0.01)
        self.stopped.set()
        raise Stopped()


def test_an_attempt_taken_over_stops_at_the_next_step_and_writes_nothing(
    qtbot, sim_devices, caplog
):
    run_id = approve(devices=["press-01"])
    gateway = QuietInstall()
    settings = EngineSettings(tick_ms=40, stale_after=timedelta(seconds=2), probe_interval=None)
    engine = Engine(gateway, settings)
    engine.start()
    try:
        qtbot.waitUntil(lambda: state(run_id, "press-01") == "running", timeout=WAIT)
        d = deployment(run_id, "press-01")
        # another engine judged this one dead, requeued the attempt and claimed it anew
        scheduling.heartbeat("other", "elsewhere", 2, datetime.now(UTC))
        with writing():  # in one transaction: this engine cannot claim it back in between
            Deployment.update(state="queued", claimed_by=None).where(
                Deployment.id == d.id
            ).execute()
            [theirs] = scheduling.claim("other", datetime.now(UTC), 1)
        before = events(d.id)
        said = f"deployment {d.id}: taken over by another engine; stopped here"
        with caplog.at_level(logging.WARNING, logger="appupdater.engine"):
            # the worker logs it after it let go of the attempt
            qtbot.waitUntil(lambda: engine.running == 0 and said in caplog.text, timeout=WAIT)
        assert gateway.stopped.is_set()
        after = deployment(run_id, "press-01")
        assert (after.state, after.claimed_by, after.claim) == ("running", "other", theirs.claim)
        assert events(d.id) == before
    finally:
        assert engine.stop(interrupt=True, msecs=10_000)


def _beat_and_step(qtbot, engine: Engine, clock: ManualClock, seconds: float, beats=()) -> None:
    """`seconds` pass on the hand-driven clock in quarter seconds; the engines in `beats`
    beat each time and `engine` looks at least once."""
    for _ in range(round(seconds / 0.25)):
        for other in beats:
            scheduling.heartbeat(other, "elsewhere", 2, clock.now())
        clock.advance(timedelta(seconds=0.25))
        after_steps(qtbot, engine, 2)


def test_after_an_outage_of_the_database_a_live_engine_keeps_its_deployments(
    qtbot, sim_devices, make_engine, monkeypatch
):
    """The database is unreachable for 20 s (every step of every engine fails): this engine,
    stepping first afterwards, did not watch those 20 s and leaves engine-a's deployment alone;
    engine-a beats again and keeps it. Silent for `stale_after` while watched, it is taken
    over."""
    clock = ManualClock()
    run_id = approve(devices=["press-01"])
    apply_configuration(run_id, clock.now())
    scheduling.heartbeat("engine-a", "elsewhere", 2, clock.now())
    [job] = scheduling.claim("engine-a", clock.now(), 1)
    engine = make_engine(clock=clock, probe_interval=None)  # stale_after 2 s
    engine.start()
    _beat_and_step(qtbot, engine, clock, 1, beats=["engine-a"])

    beat, failed = scheduling.heartbeat, []

    def unreachable(*args) -> None:
        failed.append(args)
        raise DatabaseBusyError("the database is unreachable")

    monkeypatch.setattr(scheduling, "heartbeat", unreachable)
    qtbot.waitUntil(lambda: len(failed) >= 2, timeout=WAIT)
    clock.advance(timedelta(seconds=20))
    monkeypatch.setattr(scheduling, "heartbeat", beat)
    after_steps(qtbot, engine, 2)  # this engine steps first after the outage
    assert (deployment(run_id, "press-01").claimed_by, state(run_id, "press-01")) == (
        "engine-a",
        "running",
    )
    _beat_and_step(qtbot, engine, clock, 1.5, beats=["engine-a"])  # engine-a is back
    _beat_and_step(qtbot, engine, clock, 1.75)  # and dies
    assert deployment(run_id, "press-01").claim == job.claim
    _beat_and_step(qtbot, engine, clock, 0.25)
    assert deployment(run_id, "press-01").claimed_by != "engine-a"


def test_an_engine_beats_between_the_runs_it_configures(
    qtbot, sim_devices, make_engine, monkeypatch
):
    """Configuring a big run can take long: the engine beats again before the next run once a
    tick has passed, so others do not mistake a long step for a dead engine."""
    clock = ManualClock()
    for name in ("press-01", "press-02", "press-03"):
        approve(devices=[name])
    seen = []

    def slow_configuration(run_id, now):
        seen.append(EngineInstance.get_by_id(engine.instance).beat)
        clock.advance(timedelta(seconds=1))  # a big run
        return apply_configuration(run_id, now)

    monkeypatch.setattr("appupdater.engine.engine.apply_configuration", slow_configuration)
    engine = make_engine(clock=clock, probe_interval=None)
    engine.start()
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=WAIT)
    assert len(set(seen)) == 3


class SlowToStop(Gateway):
    """Installs until told to stop; the first attempt then takes a while to wind down (a
    request in flight) until `wind_down` is set. `abort` ends everything (test clean-up)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[int] = []  # claim numbers of the attempts begun
        self.wind_down = threading.Event()
        self.abort = threading.Event()

    def probe(self, device):
        return ProbeResult(True)

    def deploy(self, job, progress, should_stop):
        with self.lock:
            self.started.append(job.claim)
            first = len(self.started) == 1
        while not should_stop() and not self.abort.is_set():
            self.abort.wait(0.01)
        while first and not (self.wind_down.is_set() or self.abort.is_set()):
            self.abort.wait(0.01)
        raise Stopped()


@pytest.fixture
def slow_to_stop(qtbot, sim_devices):
    """An engine running two attempts at once on `SlowToStop`; stopped however the test ends."""
    gateway = SlowToStop()
    settings = EngineSettings(
        tick_ms=40, stale_after=timedelta(seconds=2), probe_interval=None, concurrency=2
    )
    engine = Engine(gateway, settings)
    yield engine, gateway
    gateway.abort.set()
    assert engine.stop(interrupt=True, msecs=10_000)


def _claim_again(qtbot, caplog, engine: Engine, gateway: SlowToStop) -> int:
    """The engine runs press-01's deployment; another engine requeues it (this one was thought
    dead); this engine's next step stops the lost attempt and claims the deployment again.
    Returns the deployment id once the lost attempt ended."""
    run_id = approve(devices=["press-01"])
    engine.start()
    qtbot.waitUntil(lambda: len(gateway.started) == 1, timeout=WAIT)
    d = deployment(run_id, "press-01").id
    Deployment.update(state="queued", claimed_by=None).where(Deployment.id == d).execute()
    qtbot.waitUntil(lambda: len(gateway.started) == 2, timeout=WAIT)
    assert engine.running == 2  # the lost attempt winds down; the new one runs
    with caplog.at_level(logging.WARNING, logger="appupdater.engine"):
        gateway.wind_down.set()
        lost = f"deployment {d}: taken over by another engine; stopped here"
        qtbot.waitUntil(lambda: lost in caplog.text, timeout=WAIT)
    assert engine.running == 1
    return d


def test_cancel_reaches_an_attempt_claimed_again_after_the_lost_one_ended(
    qtbot, caplog, slow_to_stop
):
    engine, gateway = slow_to_stop
    d = _claim_again(qtbot, caplog, engine, gateway)
    assert engine.cancel([d]) == ([], [d])
    qtbot.waitUntil(lambda: Deployment.get_by_id(d).state == "cancelled", timeout=WAIT)
    qtbot.waitUntil(lambda: engine.running == 0, timeout=WAIT)


def test_quitting_interrupts_an_attempt_claimed_again_after_the_lost_one_ended(
    qtbot, caplog, slow_to_stop
):
    engine, gateway = slow_to_stop
    d = _claim_again(qtbot, caplog, engine, gateway)
    assert engine.stop(interrupt=True, msecs=5_000)
    assert Deployment.get_by_id(d).state == "queued"
