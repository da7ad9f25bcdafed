"""One attempt in isolation: the end a cancel, a late cancel and a gateway bug lead to."""

from __future__ import annotations

from datetime import UTC, datetime

from appupdater.core import scheduling
from appupdater.core.runs import apply_configuration
from appupdater.engine.clock import SystemClock
from appupdater.engine.execution import Handle, execute
from appupdater.engine.gateways.base import Gateway, ProbeResult
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


def test_cancel_after_the_device_finished_ends_succeeded(sim_devices):
    run_id, job = claimed("press-01")
    handle = Handle()
    state, _ = execute(job, FinishesDespiteCancel(handle), EngineSettings(), SystemClock(), handle)
    assert state == "succeeded"
    d = deployment(run_id, "press-01")
    assert d.state == "succeeded"
    log = events(d.id)
    assert "installing modules" in log
    assert "cancel came too late: the device had already finished" in log


def test_a_gateway_bug_fails_the_deployment_not_the_engine(sim_devices):
    run_id, job = claimed("press-01")
    state, message = execute(job, Buggy(), EngineSettings(), SystemClock(), Handle())
    assert state == "failed"
    assert "internal error while deploying to press-01: KeyError('oops')" in message
    assert deployment(run_id, "press-01").state == "failed"
