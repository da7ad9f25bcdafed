"""The database away while the engine runs (on SQLite, its writes made to fail): ends written
when it is back."""

from __future__ import annotations

from datetime import timedelta

import peewee

from appupdater.core import attempts
from tests.engine.helpers import approve, deployment, events, state

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
