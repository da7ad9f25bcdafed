"""The one place an engine is assembled. The window app, `appupdater engine` and the self-test
all call `build_engine`, so every one of them reaches a device the same way: through its agent
when it has an endpoint, simulated when it has none."""

from __future__ import annotations

from PySide6.QtCore import QObject

from appupdater.engine.clock import Clock
from appupdater.engine.engine import Engine
from appupdater.engine.gateways.fleet import FleetGateway
from appupdater.engine.gateways.http import HttpGateway
from appupdater.engine.gateways.simulated import SimulatedGateway
from appupdater.engine.settings import EngineSettings, GatewaySettings


def build_gateway(settings: GatewaySettings) -> FleetGateway:
    """The gateway that chooses per device: agent endpoint → HTTP(S), none → simulated."""
    return FleetGateway(
        HttpGateway(
            timeout=settings.agent_timeout,
            poll_wait=settings.poll_wait,
            reconnect_grace=settings.reconnect_grace,
            cancel_wait=settings.cancel_wait,
        ),
        SimulatedGateway(latency_s=settings.simulated_latency),
    )


def build_engine(
    settings: EngineSettings | None = None,
    *,
    clock: Clock | None = None,
    parent: QObject | None = None,
) -> Engine:
    settings = settings or EngineSettings()
    return Engine(build_gateway(settings.gateways), settings, clock, parent)
