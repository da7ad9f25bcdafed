"""A fleet file that leaves a real device's endpoint out does not make it simulated.

press-01 is a real agent process, imported with its endpoint and token. A hand-written file of
names and versions (no endpoint, no token, no installed version) is imported over it; the next
update run is then executed by the engine through the HTTP gateway, and the agent's own state
shows the deployment arrived and ran. Before imports kept connections, that file cleared the
endpoint and the simulated gateway recorded a success the device never saw."""

from __future__ import annotations

import pytest

from appupdater.store.models import Device
from tests.engine.test_agents import (  # noqa: F401  (fixtures)
    V1,
    V2,
    WAIT,
    agent_deployment,
    approve,
    ended,
    installed,
    log_of,
    make_engine,
    the,
    world,
)
from tests.helpers import load_yaml

pytestmark = pytest.mark.integration


def test_a_file_without_endpoint_keeps_the_device_real(qtbot, world, make_engine):  # noqa: F811
    agent = world.agent("press-01")
    world.load([agent])
    assert agent.active() == V1
    summary = load_yaml(
        "devices:\n"
        "  - {name: press-01, site: hall-2, applications: {line-monitor: {configured: '1.0.0'}}}\n",
        file="names.yaml",
    )
    assert summary.connections_changed == 0
    device = Device.get(Device.name == "press-01")
    assert (device.site, device.endpoint, device.token) == ("hall-2", agent.endpoint, agent.token)
    assert installed("press-01") == "1.0.0"  # what the device reported, kept

    approve(["press-01"])
    make_engine().start()
    qtbot.waitUntil(lambda: ended("press-01"), timeout=WAIT)
    assert the("press-01").state == "succeeded", log_of("press-01")
    assert f"connecting to {agent.endpoint}" in " ".join(log_of("press-01"))
    # the far side's own record: the deployment reached the agent and ran there
    deployment = the("press-01")
    on_agent = agent_deployment(agent)
    assert on_agent["id"] == f"r{deployment.run_id}-d{deployment.id}"
    assert on_agent["state"] == "succeeded"
    assert agent.active() == V2
    assert installed("press-01") == "2.0.0"
