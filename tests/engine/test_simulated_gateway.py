"""The simulated gateway follows its device labels and the gateway contract."""

from __future__ import annotations

import pytest

from appupdater.core.catalog import ModuleInfo
from appupdater.core.jobs import AppConfig, DeploymentJob
from appupdater.engine.gateways.base import DeviceTarget, Stopped
from appupdater.engine.gateways.simulated import SimulatedGateway
from appupdater.errors import DeviceRejected, DeviceUnreachable


def job(labels, attempt=1):
    config = (
        AppConfig("line-monitor", "2.0.0", 5, (ModuleInfo("collector", "2.0.0", "reg/c"),), 1),
    )
    return DeploymentJob(1, 1, 1, "press-01", labels, None, attempt, "here", config)


def run(gateway, labels, should_stop=lambda: False):
    seen = []
    message = gateway.deploy(
        job(labels), lambda phase, pct, msg=None: seen.append((phase, pct, msg)), should_stop
    )
    return message, seen


def test_phases_and_progress_in_order():
    message, seen = run(SimulatedGateway(latency_s=0.0), {})
    assert message == "deployed to press-01: line-monitor 2.0.0"
    phases = [phase for phase, _, msg in seen if msg]
    assert phases == ["connecting", "downloading", "installing", "verifying"]
    percents = [pct for _, pct, _ in seen]
    assert percents == sorted(percents) and percents[-1] == 100


def test_labels_steer_the_outcome():
    with pytest.raises(DeviceUnreachable, match="press-01 unreachable"):
        run(SimulatedGateway(latency_s=0.0), {"sim.offline": "true"})
    with pytest.raises(DeviceRejected, match=r"installing collector 2\.0\.0 failed"):
        run(SimulatedGateway(latency_s=0.0), {"sim.failure_rate": 1})
    with pytest.raises(Stopped):
        run(SimulatedGateway(latency_s=5.0), {}, should_stop=lambda: True)


def test_probe():
    gateway = SimulatedGateway()
    assert gateway.probe(DeviceTarget("press-01")).online
    offline = gateway.probe(DeviceTarget("press-02", {"sim.offline": True}))
    assert not offline.online and "unreachable" in offline.message
