"""A run to line-monitor 2.0.0 through real agents, then its rollback: the agents run 1.0.0
again (their own links on disk say so), the rollback downloaded nothing (the artifact server's
request log, the agents' event logs) and each device's configuration history reads run,
rollback."""

from __future__ import annotations

import pytest

from appupdater.core.config_history import device_history
from appupdater.core.planning import Selection, plan_update
from appupdater.core.rollback import plan_rollback
from appupdater.core.runs import create_run
from appupdater.store.models import Deployment, DeploymentEvent, Device
from tests.agent.test_kept_versions import LoggingArtifactServer
from tests.agents import AgentProcess, build_artifacts, fleet_yaml, seed_version_1
from tests.engine.test_agents import V1, V2, make_engine  # noqa: F401  (fixture)
from tests.helpers import load_yaml

pytestmark = pytest.mark.integration
WAIT = 60_000
NAMES = ("press-01", "press-02")


def _events(run_id: int, name: str) -> list[str]:
    device = Device.get(Device.name == name).id
    deployment = Deployment.get((Deployment.run == run_id) & (Deployment.device == device))
    return [
        e.message
        for e in DeploymentEvent.select()
        .where(DeploymentEvent.deployment == deployment.id)
        .order_by(DeploymentEvent.id)
    ]


def _ended(run_id: int) -> bool:
    states = {d.state for d in Deployment.select().where(Deployment.run == run_id)}
    return bool(states) and states <= {"succeeded", "failed", "cancelled"}


def test_a_rollback_through_agents_reuses_what_they_kept(qtbot, tmp_path, db, make_engine):  # noqa: F811
    artifacts = build_artifacts(tmp_path / "artifacts")
    server = LoggingArtifactServer(tmp_path / "artifacts")
    agents = [AgentProcess(n, tmp_path / "agents" / n).start() for n in NAMES]
    try:
        for agent in agents:
            seed_version_1(agent, server.url, artifacts)
        load_yaml(fleet_yaml(server.url, artifacts, agents))
        devices = [Device.get(Device.name == n).id for n in NAMES]
        before = {d: [r.configured for r in device_history(d)] for d in devices}
        run_id = create_run(
            plan_update([Selection("line-monitor", "2.0.0")]), approved_by="alice", devices=devices
        )
        engine = make_engine()
        engine.start()
        qtbot.waitUntil(lambda: _ended(run_id), timeout=WAIT)
        assert {a.name: a.active() for a in agents} == dict.fromkeys(NAMES, V2)
        fetched_v1 = {m: server.requests(m, "1.0.0") for m in ("collector", "dashboard")}
        assert fetched_v1 == {"collector": 2, "dashboard": 2}  # once per agent, when seeded

        rollback = plan_rollback(run_id)
        assert not rollback.skipped, rollback.skipped
        back = create_run(rollback, approved_by="bob")
        qtbot.waitUntil(lambda: _ended(back), timeout=WAIT)
        for agent in agents:
            assert (
                Deployment.get(
                    Deployment.run == back,
                    Deployment.device == Device.get(Device.name == agent.name).id,
                ).state
                == "succeeded"
            ), _events(back, agent.name)
            assert agent.active() == V1  # the agent's own links
            said = "\n".join(_events(back, agent.name))
            assert "collector 1.0.0 already on the device" in said
            assert "dashboard 1.0.0 already on the device" in said
            assert "downloading" not in said
        # the far side's own record: no artifact of 1.0.0 was asked for again
        assert {m: server.requests(m, "1.0.0") for m in fetched_v1} == fetched_v1
        for device in devices:
            history = device_history(device)
            assert [r.reason for r in history[:2]] == [
                f"rollback of run #{run_id}",
                f"run #{run_id}",
            ]
            assert history[0].configured == before[device][0]
    finally:
        for agent in agents:
            agent.stop()
        server.close()
