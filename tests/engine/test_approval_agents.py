"""With the second approver, an import made after a run was approved does not ride on the
run's deployment: a real agent receives the configuration the run was approved with, the import's
change stays configured for a later approved run, and the deployment's log says so."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from appupdater.agent.protocol import AppRef, Configuration, DeploymentState
from appupdater.core import approvals
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.demo.agents import put_and_wait
from appupdater.store.fields import utcnow
from appupdater.store.models import (
    Application,
    Deployment,
    DeploymentEvent,
    Device,
    DeviceApp,
)
from tests.agents import CATALOG_MODULES, AgentProcess, ArtifactServer, build_artifacts
from tests.engine.test_agents import make_engine  # noqa: F401  (fixture)
from tests.engine.test_along_agents import GATEWAY, _gateway_artifacts, _refs, fleet_yaml
from tests.helpers import load_yaml
from tests.identities import act_as

pytestmark = pytest.mark.integration
WAIT = 60_000


def gateway_row() -> DeviceApp:
    app = Application.get(Application.name == "edge-gateway")
    device = Device.get(Device.name == "press-01")
    return DeviceApp.get((DeviceApp.device == device) & (DeviceApp.application == app))


def test_an_import_after_the_approval_waits_for_a_later_approved_run(
    qtbot,
    tmp_path,
    db,
    monkeypatch,
    make_engine,  # noqa: F811
):
    folder = tmp_path / "artifacts"
    artifacts = {**build_artifacts(folder), **_gateway_artifacts(folder)}
    server = ArtifactServer(folder)
    agent = AgentProcess("press-01", tmp_path / "agents" / "press-01").start()
    try:
        url = server.url
        seeded = Configuration(
            (
                AppRef("edge-gateway", "1.0", _refs(url, artifacts, GATEWAY["1.0"])),
                AppRef("line-monitor", "1.0.0", _refs(url, artifacts, CATALOG_MODULES["1.0.0"])),
            )
        )
        with agent.client() as client:
            assert put_and_wait(client, "seed", seeded).state is DeploymentState.SUCCEEDED
        load_yaml(fleet_yaml(url, artifacts, agent, gateway="1.0"))
        set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin", now=utcnow())
        act_as(monkeypatch, "alice")
        run_id = create_run(plan_update([Selection("line-monitor", "2.0.0")]), approved_by="alice")
        act_as(monkeypatch, "bob")
        approvals.approve(run_id, note="line-monitor only")
        # after the approval, before the deployment starts: an import configures edge-gateway 1.1
        load_yaml(fleet_yaml(url, artifacts, agent, gateway="1.1"), file="later.yaml")
        assert gateway_row().configured.version == "1.1"

        make_engine().start()
        deployment = Deployment.select().where(Deployment.run == run_id)
        qtbot.waitUntil(lambda: deployment.get().state in ("succeeded", "failed"), timeout=WAIT)
        assert deployment.get().state == "succeeded", deployment.get().last_message
        # the far side's own record: line-monitor 2.0.0 with edge-gateway as it was approved
        assert agent.active() == {
            "broker": "1.0",
            "collector": "2.0.0",
            "alerts": "1.0.0",
        }
        state = json.loads((agent.state / "state.json").read_text())
        [pushed] = [d for d in state["deployments"] if d["id"].startswith("r")]
        apps = {a["name"]: a["version"] for a in pushed["configuration"]["applications"]}
        assert apps == {"edge-gateway": "1.0", "line-monitor": "2.0.0"}
        # ours: the import's change is still configured, not installed, and the log says why
        row = gateway_row()
        assert (row.configured.version, row.installed.version) == ("1.1", "1.0")
        log = [
            e.message
            for e in DeploymentEvent.select()
            .where(DeploymentEvent.deployment == deployment.get().id)
            .order_by(DeploymentEvent.id)
        ]
        assert not any(m.startswith("also pushes") for m in log)
        assert any(
            f"it pushes the configuration approved with run #{run_id}: edge-gateway 1.1 "
            "(import of later.yaml) configured after the approval, waits for a later approved run"
            in m
            for m in log
        ), log
    finally:
        agent.stop()
        server.close()
