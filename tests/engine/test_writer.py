"""The engine's writer: progress of all attempts in few transactions, ends committed in groups,
each end conditional and on its own (engine/writer.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import peewee
import pytest

from appupdater.core import attempts, scheduling
from appupdater.core.events import Event
from appupdater.core.runs import apply_configuration
from appupdater.engine.execution import Handle
from appupdater.engine.writer import NotWritten
from appupdater.store.models import Deployment
from tests.engine.helpers import events
from tests.helpers import behind_on_line_monitor

WAIT = 30_000


def test_transactions_do_not_grow_with_the_deployments_in_flight(qtbot, db, make_engine):
    """200 deployments at once, each reporting progress every 50 ms for ~1 s: written one by
    one that is thousands of transactions; batched, a few per progress interval."""
    run_id = behind_on_line_monitor(200)
    engine = make_engine(latency=1.0, concurrency=200, progress_interval=0.1)
    with qtbot.waitSignal(engine.run_completed, timeout=WAIT) as completed:
        engine.start()
    assert completed.args == [run_id, 200, 0]
    assert engine.writer.transactions < 80, engine.writer.transactions
    first = Deployment.select().where(Deployment.run == run_id).order_by(Deployment.id).first()
    log = events(first.id)
    assert log[1].startswith("attempt 1 started")
    assert any(e.startswith("downloading") for e in log)  # progress events came through
    assert log[-1].startswith("deployed to")


def _claimed(count: int):
    behind_on_line_monitor(count)
    for run_id in scheduling.pending_runs():
        apply_configuration(run_id)
    return scheduling.claim("here", datetime.now(UTC), count)


def test_an_end_that_breaks_spares_the_others_in_its_batch(db, writer, monkeypatch):
    jobs = _claimed(3)
    now = datetime.now(UTC)

    def buggy(events):
        raise KeyError("a bug in one end")

    with pytest.raises(KeyError):
        writer.end(jobs[0], buggy, [])
    assert writer.end(jobs[1], lambda e: attempts.succeed(jobs[1], now, "deployed", e), []) == (
        "succeeded"
    )
    states = dict(Deployment.select(Deployment.id, Deployment.state).tuples())
    assert (states[jobs[0].id], states[jobs[1].id], states[jobs[2].id]) == (
        "running",
        "succeeded",
        "running",
    )


def test_progress_events_come_before_the_end_and_once(db, writer):
    [job] = _claimed(1)
    handle = Handle(claim=job.claim)
    now = datetime.now(UTC)
    writer.progress(job, handle, "downloading", 40, Event.info(now, "downloading 2 images"))
    writer.end(job, lambda e: attempts.succeed(job, now, "deployed", e), [])
    assert events(job.id)[-2:] == ["downloading 2 images", "deployed"]
    assert events(job.id).count("downloading 2 images") == 1


def test_a_cancel_and_a_lost_claim_reach_the_attempts_through_progress(qtbot, db, writer):
    first, second = _claimed(2)
    Deployment.update(cancel_requested=True).where(Deployment.id == first.id).execute()
    Deployment.update(state="queued").where(Deployment.id == second.id).execute()
    handles = Handle(claim=first.claim), Handle(claim=second.claim)
    for job, handle in zip((first, second), handles, strict=True):
        writer.progress(job, handle, "installing", 50, None)
    qtbot.waitUntil(lambda: handles[0].cancel.is_set() and handles[1].lost.is_set())
    assert not handles[0].lost.is_set() and not handles[1].cancel.is_set()
    row = Deployment.get_by_id(second.id)
    assert (row.state, row.phase) == ("queued", "connecting")  # a lost claim writes nothing


def test_while_the_database_is_away_progress_waits_and_an_end_comes_back(
    qtbot, db, writer, monkeypatch
):
    [job] = _claimed(1)
    handle = Handle(claim=job.claim)
    now = datetime.now(UTC)
    real = attempts.report_progress
    tries = []

    def away(*args, **kwargs):
        tries.append(1)
        raise peewee.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(attempts, "report_progress", away)
    writer.progress(job, handle, "downloading", 40, Event.info(now, "downloading 2 images"))
    qtbot.waitUntil(lambda: len(tries) >= 2)  # tried, kept, tried again
    monkeypatch.setattr(attempts, "report_progress", real)

    def succeed_once_back(events):
        if tries[-1:] != ["back"]:
            tries.append("back")
            raise peewee.OperationalError("server closed the connection unexpectedly")
        return attempts.succeed(job, now, "deployed", events)

    with pytest.raises(NotWritten) as raised:
        writer.end(job, succeed_once_back, [])
    assert Deployment.get_by_id(job.id).state == "running"
    assert raised.value.retry() == "succeeded"  # as the dispatcher does when it is back
    assert events(job.id)[-2:] == ["downloading 2 images", "deployed"]


def test_a_report_that_breaks_costs_only_its_own_progress(qtbot, db, writer, monkeypatch):
    first, second = _claimed(2)
    real = attempts.report_progress

    def picky(reports, now):
        if any(r.job.id == first.id for r in reports):
            raise ValueError("a bug in one report")
        return real(reports, now)

    monkeypatch.setattr(attempts, "report_progress", picky)
    for job in (first, second):
        writer.progress(job, Handle(claim=job.claim), "installing", 70, None)
    qtbot.waitUntil(lambda: Deployment.get_by_id(second.id).phase == "installing")
    assert Deployment.get_by_id(first.id).phase == "connecting"


def test_progress_kept_after_an_outage_goes_with_an_end_that_came_meanwhile(
    db, writer, monkeypatch
):
    """The batch holding an attempt's progress fails while its end is handed over: the events
    come before the end's, not after it (nor lost)."""
    import threading

    [job] = _claimed(1)
    now = datetime.now(UTC)
    in_batch, end_handed = threading.Event(), threading.Event()
    real = attempts.report_progress

    def away_once(reports, when):
        monkeypatch.setattr(attempts, "report_progress", real)
        writer.interval = 5.0  # after the failed batch the progress is not due again soon
        in_batch.set()
        end_handed.wait(10)
        raise peewee.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(attempts, "report_progress", away_once)
    writer.progress(job, Handle(claim=job.claim), "downloading", 40, Event.info(now, "got it"))
    assert in_batch.wait(10)
    ended = []
    thread = threading.Thread(
        target=lambda: ended.append(
            writer.end(job, lambda e: attempts.succeed(job, now, "deployed", e), [])
        )
    )
    thread.start()
    while not writer._ends:  # the end is handed over while the batch is in flight
        threading.Event().wait(0.005)
    end_handed.set()
    thread.join(10)
    assert ended == ["succeeded"]
    assert events(job.id)[-2:] == ["got it", "deployed"]


def test_starting_again_after_a_close_that_timed_out_writes_again(db, monkeypatch):
    import threading

    from appupdater.engine.clock import SystemClock
    from appupdater.engine.writer import Writer

    [job] = _claimed(1)
    now = datetime.now(UTC)
    release = threading.Event()
    real = attempts.report_progress

    def slow(reports, when):
        release.wait(10)
        return real(reports, when)

    monkeypatch.setattr(attempts, "report_progress", slow)
    writer = Writer(0.0, SystemClock().now)
    writer.start()
    writer.progress(job, Handle(claim=job.claim), "installing", 50, None)
    assert not writer.close(0.05)  # a slow disk: the batch is still being written
    closing = writer._thread
    threading.Timer(0.1, release.set).start()
    writer.start()  # waits for the closing thread, then a new one writes
    closing.join(10)  # the old thread ended: a new one must be there to take the end
    assert writer.end(job, lambda e: attempts.succeed(job, now, "deployed", e), []) == "succeeded"
    assert writer.close(10)
