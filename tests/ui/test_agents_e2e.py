"""The whole path with real devices: an update approved in the wizard, run by the engine
through real agent processes on loopback, fetching artifacts from a local server."""

from __future__ import annotations

import pytest

from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings, GatewaySettings
from appupdater.store.models import Deployment, DeploymentEvent, Device
from appupdater.ui.main_window import MainWindow
from tests.agents import AgentProcess, ArtifactServer, build_artifacts, fleet_yaml, seed_version_1
from tests.helpers import load_yaml
from tests.ui.drive import approve, next_page, open_wizard

pytestmark = pytest.mark.integration

WAIT = 40_000


@pytest.fixture
def agents(tmp_path, db):
    artifacts = build_artifacts(tmp_path / "artifacts")
    server = ArtifactServer(tmp_path / "artifacts")
    started = []
    try:
        for i in range(1, 5):
            agent = AgentProcess(f"press-0{i}", tmp_path / "agents" / f"press-0{i}").start()
            started.append(agent)
            seed_version_1(agent, server.url, artifacts)
        load_yaml(fleet_yaml(server.url, artifacts, started))
        yield started
    finally:
        for agent in started:
            agent.stop()
        server.close()


def test_wizard_approved_update_lands_on_real_devices(qtbot, agents, message_boxes):
    engine = build_engine(
        EngineSettings(
            tick_ms=50,
            progress_interval=0.05,
            probe_interval=None,
            gateways=GatewaySettings(agent_timeout=5, poll_wait=0.5),
        )
    )
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.inventory is not None)
    wizard = open_wizard(qtbot, window, "line-monitor")
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    run_id = approve(qtbot, wizard, message_boxes)
    engine.start()
    try:
        finished = Deployment.state.in_(["succeeded", "failed", "cancelled"])
        query = Deployment.select().where((Deployment.run == run_id) & finished)
        qtbot.waitUntil(lambda: query.count() == len(agents), timeout=WAIT)
    finally:
        assert engine.stop(interrupt=True, msecs=30_000)
    for agent in agents:
        deployment = Deployment.get(
            (Deployment.run == run_id) & (Deployment.device == Device.get(name=agent.name).id)
        )
        messages = [
            e.message
            for e in DeploymentEvent.select().where(DeploymentEvent.deployment == deployment.id)
        ]
        assert deployment.state == "succeeded", messages
        # the new module versions are the active ones on the device, the removed one is gone
        assert agent.active() == {"collector": "2.0.0", "alerts": "1.0.0"}
        current = agent.state / "modules" / "collector" / "current" / "collector" / "VERSION"
        assert current.read_text() == "collector 2.0.0\n"
        assert not (agent.state / "modules" / "dashboard" / "current").exists()
        # and the agent's own log lines are in the deployment's log
        assert "info: unpacking alerts 1.0.0" in messages
        assert "info: verifying the active modules" in messages
    window.close()
