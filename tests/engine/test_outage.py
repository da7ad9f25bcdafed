"""The database away while the engine runs (on SQLite, its writes made to fail): ends written
when it is back, an outage logged once, and one connection per engine thread."""

from __future__ import annotations

import logging
from datetime import timedelta

import peewee

from appupdater.core import attempts
from appupdater.engine.clock import ManualClock
from appupdater.store.models import db as proxy
from tests.engine.helpers import after_steps, approve, deployment, events, state

WAIT = 15_000


def failing(monkeypatch, name: str, times: int) -> list[int]:
    """Make `attempts.<name>` raise as a vanished server does, `times` times; the calls made."""
    real = getattr(attempts, name)
    calls: list[int] = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise peewee.OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(attempts, name, flaky)
    return calls


def test_an_end_not_written_is_written_when_the_database_is_back(
    qtbot, sim_devices, make_engine, monkeypatch
):
    calls = failing(monkeypatch, "succeed", times=3)
    run_id = approve(devices=["press-01"])
    engine = make_engine()
    with qtbot.waitSignal(engine.deployment_finished, timeout=WAIT) as finished:
        engine.start()
    d = deployment(run_id, "press-01")
    assert finished.args == [d.id, "succeeded"]
    assert len(calls) == 4  # tried at the end, then at each step until it was written
    assert d.state == "succeeded" and d.attempts == 1 and d.progress == 100
    log = events(d.id)
    assert sum(e.startswith("attempt ") for e in log) == 1
    assert log[-1].startswith("deployed to press-01")
    qtbot.waitUntil(lambda: engine.running == 0, timeout=WAIT)


def test_a_retry_not_written_is_written_later(qtbot, sim_devices, make_engine, monkeypatch):
    calls = failing(monkeypatch, "fail", times=2)
    run_id = approve(devices=["offline-01"])
    engine = make_engine(backoff=timedelta(hours=1))
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "offline-01") == "retrying", timeout=WAIT)
    assert len(calls) == 3
    d = deployment(run_id, "offline-01")
    assert d.attempts == 1 and "attempt 2 of 3" in d.last_message


def test_progress_not_written_waits_for_the_end(qtbot, sim_devices, make_engine, monkeypatch):
    failing(monkeypatch, "report_progress", times=1_000_000)
    run_id = approve(devices=["press-03"])
    engine = make_engine()
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "press-03") == "succeeded", timeout=WAIT)
    log = events(deployment(run_id, "press-03").id)
    assert any("downloading" in e for e in log)  # the buffered events came with the end


def test_an_outage_is_logged_once_and_its_end_once(qtbot, db, make_engine, monkeypatch, caplog):
    clock = ManualClock()
    engine = make_engine(clock=clock)
    real = engine._dispatch_step
    failed: list[int] = []

    def step(full: bool) -> bool:  # 9 failed ticks 3 s apart, then the database is back
        if failed and len(failed) <= 9:
            clock.advance(timedelta(seconds=3))
        if len(failed) < 9:
            failed.append(1)
            raise peewee.OperationalError("could not connect to server: Connection refused.\n")
        failed.append(1)
        return real(full)

    monkeypatch.setattr(engine, "_dispatch_step", step)
    with caplog.at_level(logging.INFO, logger="appupdater.engine"):
        engine.start()
        qtbot.waitUntil(lambda: len(failed) > 9, timeout=WAIT)
        after_steps(qtbot, engine, 2)
    records = [r for r in caplog.records if r.name == "appupdater.engine"]
    warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert warnings == [
        "database unavailable: could not connect to server: Connection refused; "
        "retrying at every step, nothing is lost"
    ]
    assert [r.getMessage() for r in records if "back after" in r.getMessage()] == [
        "database back after 27 s"
    ]
    assert not any(r.exc_info for r in records)


def test_an_idle_engine_keeps_one_connection(qtbot, db, make_engine, monkeypatch):
    opened: list[int] = []
    real = proxy.obj._connect

    def connect():

        opened.append(1)
        return real()

    monkeypatch.setattr(proxy.obj, "_connect", connect)
    engine = make_engine(probe_interval=None)
    engine.start()
    after_steps(qtbot, engine, 10)
    assert len(opened) == 1  # the dispatcher's, kept from step to step


def test_stopping_closes_the_dispatchers_connection_on_its_thread(
    qtbot, db, make_engine, monkeypatch
):
    """SQLite refuses a connection used on another thread: the close must run where the steps
    ran, or it fails and the connection leaks (Python 3.13 warns about it)."""
    import threading

    from appupdater.engine import outage

    engine = make_engine(probe_interval=None)
    threads: dict[str, int] = {}
    step, close = engine._dispatch_step, outage.Kept.close

    def stepping(full):
        threads["step"] = threading.get_ident()
        return step(full)

    def closing(kept):
        threads["close"] = threading.get_ident()
        close(kept)

    monkeypatch.setattr(engine, "_dispatch_step", stepping)
    monkeypatch.setattr(outage.Kept, "close", closing)
    engine.start()
    after_steps(qtbot, engine, 3)
    assert engine._connection._conn is not None
    assert engine.stop(interrupt=True, msecs=10_000)
    assert threads["close"] == threads["step"]
    assert engine._connection._conn is None


def test_a_claim_whose_answer_was_lost_goes_back_to_the_queue(
    qtbot, sim_devices, make_engine, monkeypatch
):
    """The database took the claim, but the answer never came (it went away at that moment):
    the deployment is `running` under this engine, which runs nothing for it."""
    from appupdater.core import scheduling

    real = scheduling.claim
    lost: list[int] = []

    def claim(*args, **kwargs):
        jobs = real(*args, **kwargs)
        if jobs and not lost:
            lost.append(1)
            raise peewee.OperationalError("server closed the connection unexpectedly")
        return jobs

    monkeypatch.setattr(scheduling, "claim", claim)
    run_id = approve(devices=["press-01"])
    engine = make_engine()
    engine.start()
    qtbot.waitUntil(lambda: state(run_id, "press-01") == "succeeded", timeout=WAIT)
    d = deployment(run_id, "press-01")
    assert d.attempts == 1
    log = events(d.id)
    assert sum(e.startswith("interrupted: the database went away") for e in log) == 1
    assert log[-1].startswith("deployed to press-01")


def test_a_probe_round_while_the_database_is_away_says_so_in_one_line(db, monkeypatch, caplog):
    """No traceback for an outage (the dispatcher logs it and its end); a bug still has one."""
    import peewee

    from appupdater.engine import probing
    from appupdater.engine.clock import ManualClock
    from appupdater.engine.settings import EngineSettings

    def away():
        raise peewee.OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(probing, "agent_devices", away)
    prober = probing.Prober(None, EngineSettings(), ManualClock(), lambda: None)
    caplog.set_level("INFO", logger="appupdater")
    prober._round()
    [record] = [r for r in caplog.records if r.name == "appupdater.engine"]
    assert record.levelname == "WARNING" and record.exc_info is None
    assert "database is unavailable (could not connect to server: Connection refused)" in (
        record.getMessage()
    )
