"""The workstation deploying through real agents whose module carries lifecycle hooks: a device
where the new version does not become healthy fails with the health output as the deployment's
last message and in its events, and is rolled back; the probe reads each module's health."""

from __future__ import annotations

import pytest

from appupdater.engine.gateways.base import DeviceTarget
from appupdater.engine.gateways.http import HttpGateway
from tests.agent.hook_artifacts import HookArtifacts
from tests.agents import AgentProcess
from tests.engine.test_agents import (
    approve,
    ended,
    installed,
    log_of,
    make_engine,  # noqa: F401 (a fixture)
    the,
)
from tests.helpers import load_yaml

pytestmark = pytest.mark.integration

WAIT = 30_000
# healthy unless the device's own state folder for the module says otherwise
HEALTH = '[ -e "$APPUPDATER_STATE_DIR/broken" ] || exit 0\necho "connection refused"\nexit 1\n'


def fleet(hooked: HookArtifacts, agents: list[AgentProcess]) -> str:
    lines = ["applications:", "  - name: line-monitor", "    versions:"]
    for version in ("1.0.0", "2.0.0"):
        url = f"{hooked.server.url}/web-ui-{version}.tar.gz"
        sha = hooked.sha[("web-ui", version)]
        lines += [
            f'      - version: "{version}"',
            "        modules:",
            f'          - {{name: web-ui, version: "{version}", '
            f"artifact: {{url: '{url}', sha256: '{sha}'}}}}",
        ]
    lines.append("devices:")
    for agent in agents:
        lines.append(
            f"  - {{name: {agent.name}, endpoint: '{agent.endpoint}', token: '{agent.token}', "
            "applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}"
        )
    return "\n".join(lines) + "\n"


def test_an_unhealthy_device_fails_with_the_health_output(
    qtbot,
    db,
    tmp_path,
    make_engine,  # noqa: F811
):
    hooked = HookArtifacts(tmp_path / "artifacts")
    agents = []
    try:
        hooked.add("web-ui", "1.0.0", stop="", start="", health="")
        hooked.add("web-ui", "2.0.0", stop="", start="", health=HEALTH, health_timeout="1")
        for name in ("press-01", "press-02"):
            agent = AgentProcess(name, tmp_path / "agents" / name).start()
            agents.append(agent)
            with agent.client() as client:
                client.put("seed", hooked.configuration(("web-ui", "1.0.0")))
        for agent in agents:
            qtbot.waitUntil(lambda a=agent: a.active() == {"web-ui": "1.0.0"}, timeout=WAIT)
        broken = agents[1].state / "data" / "web-ui" / "broken"
        broken.parent.mkdir(parents=True, exist_ok=True)
        broken.touch()
        load_yaml(fleet(hooked, agents))
        approve(["press-01", "press-02"])
        make_engine().start()
        qtbot.waitUntil(lambda: ended("press-01") and ended("press-02"), timeout=WAIT)
        assert the("press-01").state == "succeeded", log_of("press-01")
        failed = the("press-02")
        assert failed.state == "failed"
        assert failed.attempts == 1  # an unhealthy version does not get better by itself
        assert failed.last_message == (
            "press-02: web-ui 2.0.0 unhealthy after 1 s: connection refused; "
            "rolled back to 1.0.0, healthy"
        )
        events = log_of("press-02")
        assert "warning: web-ui 2.0.0 hooks/health: connection refused" in events
        assert "error: web-ui 2.0.0 unhealthy after 1 s: connection refused" in events
        assert agents[1].active() == {"web-ui": "1.0.0"}
        assert installed("press-02") == "1.0.0"
        gateway = HttpGateway(timeout=5)
        probed = {
            agent.name: gateway.probe(
                DeviceTarget(agent.name, connection=agent.client().connection)
            )
            for agent in agents
        }
        assert probed["press-01"].modules == {"web-ui": "2.0.0"}
        assert probed["press-01"].health == {"web-ui": "healthy"}
        assert probed["press-02"].modules == {"web-ui": "1.0.0"}
        assert probed["press-02"].health == {"web-ui": "healthy"}
        assert probed["press-02"].installed == {"line-monitor": "1.0.0"}
    finally:
        for agent in agents:
            agent.stop()
        hooked.close()
