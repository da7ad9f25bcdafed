"""One attempt in isolation: the end a cancel, a late cancel and a gateway bug lead to."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from appupdater.core import scheduling
from appupdater.core.liveness import Watch
from appupdater.core.runs import apply_configuration
from appupdater.engine.clock import SystemClock
from appupdater.engine.execution import Handle, execute
from appupdater.engine.gateways.base import Gateway, ProbeResult, Stopped
from appupdater.engine.settings import EngineSettings
from tests.engine.helpers import approve, deployment, events


class FakeGateway(Gateway):
    def probe(self, device):
        return ProbeResult(True)


class FinishesDespiteCancel(FakeGateway):
    def __init__(self, handle):
        self.handle = handle

    def deploy(self, job, progress, should_stop):
        progress("installing", 50, "installing modules")
        self.handle.cancel.set()  # the cancel arrives, but the device is already done
        return "deployed anyway"


class Buggy(FakeGateway):
    def deploy(self, job, progress, should_stop):
        raise KeyError("oops")


def claimed(name):
    run_id = approve(devices=[name])
    apply_configuration(run_id)
    [job] = scheduling.claim("here", datetime.now(UTC), 1)
    return run_id, job


def test_cancel_after_the_device_finished_ends_succeeded(sim_devices, writer):
    run_id, job = claimed("press-01")
    handle = Handle()
    state, _ = execute(
        job, FinishesDespiteCancel(handle), EngineSettings(), SystemClock(), handle, writer
    )
    assert state == "succeeded"
    d = deployment(run_id, "press-01")
    assert d.state == "succeeded"
    log = events(d.id)
    assert "installing modules" in log
    assert "cancel came too late: the device had already finished" in log


def test_a_gateway_bug_fails_the_deployment_not_the_engine(sim_devices, writer):
    run_id, job = claimed("press-01")
    state, message = execute(job, Buggy(), EngineSettings(), SystemClock(), Handle(), writer)
    assert state == "failed"
    assert "internal error while deploying to press-01: KeyError('oops')" in message
    assert deployment(run_id, "press-01").state == "failed"


class TakenOverWhileRunning(FakeGateway):
    """Reports progress; between two reports another engine takes the attempt over (this
    engine was thought dead: a suspended laptop, a stalled disk)."""

    def __init__(self, take_over):
        self.take_over = take_over

    def deploy(self, job, progress, should_stop):
        progress("downloading", 10, "downloading modules")
        self.take_over()
        for percent in range(20, 101, 10):
            if should_stop():
                raise Stopped()
            progress("installing", percent, f"installing {percent} %")
        return "deployed"


def test_an_attempt_taken_over_stops_and_records_nothing(sim_devices, writer):
    from datetime import timedelta

    run_id, job = claimed("press-01")
    d = deployment(run_id, "press-01")
    before = events(d.id)

    def take_over():
        """The other engine watches this one's beat stand still for 15 s (its own clock),
        once the writer wrote the first progress."""
        while "downloading modules" not in events(d.id):
            threading.Event().wait(0.01)
        seconds = [0.0]
        watch = Watch("other", timedelta(seconds=15), lambda: seconds[0])
        scheduling.heartbeat("here", "host", 1, datetime.now(UTC))  # this engine's last beat
        scheduling.heartbeat("other", "host", 2, datetime.now(UTC))
        assert not scheduling.requeue_interrupted(datetime.now(UTC), watch)
        for _ in range(29):  # it looks every half second
            seconds[0] += 0.5
            assert not scheduling.requeue_interrupted(datetime.now(UTC), watch)
        seconds[0] += 0.5
        assert scheduling.requeue_interrupted(datetime.now(UTC), watch)

    settings = EngineSettings(progress_interval=0)
    state, _ = execute(
        job, TakenOverWhileRunning(take_over), settings, SystemClock(), Handle(), writer
    )
    assert state is None  # nothing recorded: the attempt is not this engine's any more
    after = deployment(run_id, "press-01")
    assert after.state == "queued" and after.attempts == 0 and after.progress == 0
    log = events(d.id)
    assert log[: len(before)] == before
    assert log[len(before) :] == [
        "downloading modules",
        "interrupted: the engine running it stopped (crash, power loss or kill); queued again",
    ]
