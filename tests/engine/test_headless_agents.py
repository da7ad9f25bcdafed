"""`appupdater engine`, a process of its own, deploying to real agent processes: what the
database says must be what the devices did. Checked on each agent's own disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from appupdater.store.models import Deployment, DeploymentEvent, Device
from tests.agents import AgentProcess, ArtifactServer, build_artifacts, fleet_yaml, seed_version_1
from tests.helpers import load_yaml

pytestmark = pytest.mark.integration

V1 = {"collector": "1.0.0", "dashboard": "1.0.0"}
V2 = {"collector": "2.0.0", "alerts": "1.0.0"}
FINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture
def agents_and_a_simulated_device(tmp_path, db):
    """Two agents on line-monitor 1.0.0, and sim-01 (no endpoint) in the same fleet."""
    artifacts = build_artifacts(tmp_path / "artifacts")
    server = ArtifactServer(tmp_path / "artifacts")
    started: list[AgentProcess] = []
    try:
        for name in ("agent-01", "agent-02"):
            agent = AgentProcess(name, tmp_path / "agents" / name).start()
            started.append(agent)
            seed_version_1(agent, server.url, artifacts)
        load_yaml(fleet_yaml(server.url, artifacts, started, simulated=("sim-01",)))
        yield started
    finally:
        for agent in started:
            agent.stop()
        server.close()


def appupdater(db_path, *args: str) -> list[str]:
    return [sys.executable, "-m", "appupdater", "--database", str(db_path), *args]


def run_cli(db_path, *args: str) -> str:
    result = subprocess.run(
        appupdater(db_path, *args), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def deployments_of(run_id: int) -> dict[str, Deployment]:
    query = Deployment.select(Deployment, Device).join(Device).where(Deployment.run == run_id)
    return {d.device.name: d for d in query}


def messages(deployment_id: int) -> list[str]:
    query = DeploymentEvent.select().where(DeploymentEvent.deployment == deployment_id)
    return [e.message for e in query.order_by(DeploymentEvent.at, DeploymentEvent.id)]


def run_engine_until_ended(db_path, run_id: int) -> str:
    """`appupdater engine` as a process until every deployment of `run_id` ended; its output."""
    engine = subprocess.Popen(
        appupdater(db_path, "engine", "--concurrency", "4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        deadline = time.monotonic() + 60
        while not all(d.state in FINAL for d in deployments_of(run_id).values()):
            assert engine.poll() is None, f"the engine exited early:\n{engine.stdout.read()}"
            assert time.monotonic() < deadline, "the rollout did not end within 60 s"
            time.sleep(0.1)  # another process does the work: poll its result
    finally:
        engine.send_signal(signal.SIGTERM)
        output, _ = engine.communicate(timeout=60)
    assert engine.returncode == 0, output
    return output


def test_headless_engine_deploys_to_agents_and_simulates_only_the_rest(
    agents_and_a_simulated_device, db_path
):
    agents = agents_and_a_simulated_device
    answer = json.loads(
        run_cli(
            db_path, "update", "--app", "line-monitor=2.0.0", "--deploy", "now", "--yes", "--json"
        )
    )
    run_id = answer["run"]
    assert answer["deployments_created"] == 3
    output = run_engine_until_ended(db_path, run_id)

    rows = deployments_of(run_id)
    assert {name: d.state for name, d in rows.items()} == dict.fromkeys(
        ("agent-01", "agent-02", "sim-01"), "succeeded"
    ), output
    for agent in agents:
        # the device's own state: the new versions are active, the removed module is not
        assert agent.active() == V2, agent.log_text()
        state = json.loads((agent.state / "state.json").read_text())
        assert state["installed"]["line-monitor"]["version"] == "2.0.0"
        pushed = f"r{run_id}-d{rows[agent.name].id}"
        assert {d["id"]: d["state"] for d in state["deployments"]}[pushed] == "succeeded"
        # and the workstation's record came from the agent, not from a simulation
        log = messages(rows[agent.name].id)
        assert "info: verifying the active modules" in log
        assert not any("simulated" in line for line in log)
    simulated = messages(rows["sim-01"].id)
    assert rows["sim-01"].last_message == "deployed to sim-01: line-monitor 2.0.0"
    assert "verifying that every module runs" in simulated  # the simulation's own phase text


def test_a_later_run_supersedes_a_scheduled_one_on_the_devices_themselves(
    agents_and_a_simulated_device, db_path
):
    """Run 1 schedules every device for 2099; run 2, recorded by another `appupdater update`
    process, deploys now. The engine process deploys run 2 only: run 1's deployments ended
    `cancelled` (superseded) when run 2 was recorded, and no agent ever received them."""
    agents = agents_and_a_simulated_device
    later = "2099-01-01T00:00Z"
    first = json.loads(
        run_cli(
            db_path, "update", "--app", "line-monitor=2.0.0", "--deploy", later, "--yes", "--json"
        )
    )["run"]
    second = json.loads(
        run_cli(
            db_path, "update", "--app", "line-monitor=2.0.0", "--deploy", "now", "--yes", "--json"
        )
    )["run"]
    replaced = deployments_of(first)
    assert {d.state for d in replaced.values()} == {"cancelled"}
    assert all(d.last_message.startswith(f"superseded by run #{second}") for d in replaced.values())
    output = run_engine_until_ended(db_path, second)
    rows = deployments_of(second)
    assert {d.state for d in rows.values()} == {"succeeded"}, output
    assert {d.state for d in deployments_of(first).values()} == {"cancelled"}
    for agent in agents:
        assert agent.active() == V2, agent.log_text()
        state = json.loads((agent.state / "state.json").read_text())
        pushed = {d["id"] for d in state["deployments"]}
        assert f"r{second}-d{rows[agent.name].id}" in pushed
        assert not any(p.startswith(f"r{first}-") for p in pushed), pushed
