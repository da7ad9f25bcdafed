"""An engine on the simulated gateway with short latencies, and a small labelled fleet."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appupdater.engine.build import build_engine
from appupdater.engine.engine import Engine
from appupdater.engine.settings import EngineSettings, GatewaySettings
from tests.helpers import CATALOG, devices_yaml, load_yaml

SIM_DEVICES = CATALOG + devices_yaml(
    "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
    " edge-gateway: {configured: '3.9', installed: '3.9'}}}",
    "{name: press-02, applications: {line-monitor: {configured: '1.5.0', installed: '1.0.0'}}}",
    "{name: press-03, labels: {sim.latency_s: 0.3}, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
    "{name: offline-01, labels: {sim.offline: true}, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
    "{name: broken-01, labels: {sim.failure_rate: 1}, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
    "{name: slow-01, labels: {sim.latency_s: 30}, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
)


@pytest.fixture
def sim_devices(db):
    """Simulated devices that behave as their labels say: press-01 (two applications),
    press-02 (configured ahead), press-03 (0.3 s), offline-01, broken-01 (always fails),
    slow-01 (30 s)."""
    load_yaml(SIM_DEVICES)
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


@pytest.fixture
def writer(db):
    """The engine's writer, running, for attempts executed by hand; closed at the end."""
    from appupdater.engine.clock import SystemClock
    from appupdater.engine.writer import Writer

    writer = Writer(0.0, SystemClock().now)
    writer.start()
    yield writer
    assert writer.close(10), "the writer did not end"
