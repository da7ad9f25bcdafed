"""An engine on the simulated gateway with short latencies, and a small labelled fleet."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction, create_run
from appupdater.engine.build import build_engine
from appupdater.engine.engine import Engine
from appupdater.engine.settings import EngineSettings, GatewaySettings
from appupdater.store.models import Deployment, DeploymentEvent, Device
from tests.helpers import CATALOG, devices_yaml, load_yaml

FLEET = CATALOG + devices_yaml(
    "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
    " edge-gateway: {configured: '3.9', installed: '3.9'}}}",
    "{name: press-02, applications: {line-monitor: {configured: '1.5.0', installed: '1.0.0'}}}",
    "{name: press-03, labels: {sim.latency_s: 0.3}, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
    "{name: offline-01, labels: {sim.offline: true}, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
    "{name: broken-01, labels: {sim.failure_rate: 1}, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
    "{name: slow-01, labels: {sim.latency_s: 30}, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
)


@pytest.fixture
def fleet(db):
    load_yaml(FLEET)
    return db


@pytest.fixture
def make_engine(qtbot, db):
    engines: list[Engine] = []

    def make(latency: float = 0.05, clock=None, **overrides) -> Engine:
        settings = dict(
            tick_ms=40,
            backoff=timedelta(seconds=30),
            progress_interval=0.02,
            stale_after=timedelta(seconds=2),
        )
        settings.update(overrides)
        gateways = GatewaySettings(simulated_latency=latency)
        engine = build_engine(EngineSettings(**settings, gateways=gateways), clock=clock)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        assert engine.stop(interrupt=True, msecs=20_000), "workers still running after stop"


def device_id(name: str) -> int:
    return Device.get(Device.name == name).id


def approve(apps=("line-monitor",), devices=None, actions=None, now=None) -> int:
    """Record a run as the wizard would (configuration is left to the engine)."""
    plan = plan_update([Selection(a) for a in apps])
    ids = None if devices is None else [device_id(n) for n in devices]
    actions = {device_id(n): a for n, a in (actions or {}).items()}
    return create_run(plan, actions, approved_by="test", devices=ids, now=now)


def deployment(run_id: int, name: str) -> Deployment:
    return Deployment.get((Deployment.run == run_id) & (Deployment.device == device_id(name)))


def state(run_id: int, name: str) -> str | None:
    row = (
        Deployment.select(Deployment.state)
        .where((Deployment.run == run_id) & (Deployment.device == device_id(name)))
        .tuples()
        .first()
    )
    return row[0] if row else None


def events(deployment_id: int) -> list[str]:
    return [
        e.message
        for e in DeploymentEvent.select()
        .where(DeploymentEvent.deployment == deployment_id)
        .order_by(DeploymentEvent.at, DeploymentEvent.id)
    ]


def at(minutes: float, now) -> DeviceAction:
    from appupdater.store.models import DeployAction

    return DeviceAction(DeployAction.AT, now + timedelta(minutes=minutes))
