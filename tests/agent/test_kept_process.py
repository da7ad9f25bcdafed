"""Kept module versions with the real agent process: a rollback to a version still on the
device downloads nothing (the artifact server's request log) and says so; `--keep-versions`
prunes; a SIGKILL in the middle of pruning leaves what the restarted agent repairs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appupdater.agent.protocol import DeploymentState
from appupdater.demo.agents import put_and_wait
from tests.agent.test_kept_versions import Served, on_disk
from tests.agents import REPO, AgentProcess


@pytest.fixture
def served(tmp_path):
    made = Served(tmp_path / "artifacts")
    yield made
    made.server.close()


@pytest.fixture
def agents():
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        agent.stop()


def start(agents, tmp_path, *extra: str) -> AgentProcess:
    agent = AgentProcess("press-01", tmp_path / "agents" / "press-01", extra=extra).start()
    agents.append(agent)
    return agent


def deployed(agent: AgentProcess, deployment_id: str, configuration) -> list[str]:
    """Deploy and wait; the deployment's whole event log."""
    with agent.client() as client:
        answer = put_and_wait(client, deployment_id, configuration)
        assert answer.state is DeploymentState.SUCCEEDED, answer.message
        return [line.message for line in client.poll(deployment_id, 0).log]


@pytest.mark.integration
def test_a_rollback_to_a_kept_version_downloads_nothing(tmp_path, served, agents):
    agent = start(agents, tmp_path)
    v1 = served.configuration(("collector", "1.0.0"), ("dashboard", "1.0.0"))
    v2 = served.configuration(("collector", "2.0.0"), ("alerts", "1.0.0"), version="2.0.0")
    deployed(agent, "r1-d1", v1)
    deployed(agent, "r2-d1", v2)
    assert agent.active() == {"collector": "2.0.0", "alerts": "1.0.0"}
    log = deployed(agent, "r3-d1", v1)
    assert served.requests("collector", "1.0.0") == 1
    assert served.requests("dashboard", "1.0.0") == 1
    assert "collector 1.0.0 already on the device" in log
    assert "dashboard 1.0.0 already on the device" in log
    assert not any(line.startswith("downloading") for line in log)
    assert agent.active() == {"collector": "1.0.0", "dashboard": "1.0.0"}
    with agent.client() as client:
        assert client.status().versions() == {"line-monitor": "1.0.0"}
    assert [p for p in on_disk(agent.state, "collector") if not p.startswith(".")] == [
        "1.0.0",
        "2.0.0",
        "current",
    ]


@pytest.mark.integration
def test_keep_versions_one_prunes_the_oldest_of_three(tmp_path, served, agents):
    agent = start(agents, tmp_path, "--keep-versions", "1")
    for number, version in enumerate(["1.0.0", "2.0.0", "3.0.0"]):
        log = deployed(agent, f"r{number}-d1", served.collector(version))
    assert any(line.startswith("removed collector 1.0.0 from the device") for line in log)
    assert agent.active() == {"collector": "3.0.0"}
    assert on_disk(agent.state, "collector") == [
        ".2.0.0.complete",
        ".3.0.0.complete",
        "2.0.0",
        "3.0.0",
        "current",
    ]
    # the previous version is still whole: back to it without a download
    log = deployed(agent, "r9-d1", served.collector("2.0.0"))
    assert "collector 2.0.0 already on the device" in log
    assert served.requests("collector", "2.0.0") == 1


def pruning_journal(state: Path) -> list:
    return json.loads((state / "state.json").read_text()).get("pruning") or []


@pytest.mark.integration
def test_sigkill_while_pruning_is_repaired_by_the_restarted_agent(tmp_path, served, agents):
    agent = start(agents, tmp_path, "--keep-versions", "1")
    deployed(agent, "r1-d1", served.collector("1.0.0"))
    deployed(agent, "r2-d1", served.collector("2.0.0"))
    # many files in the version to be pruned, so that removing it takes a while
    old = agent.state / "modules" / "collector" / "1.0.0"
    for folder in range(40):
        (old / "bulk" / str(folder)).mkdir(parents=True)
        for number in range(1000):
            (old / "bulk" / str(folder) / str(number)).touch()
    with agent.client() as client:
        client.put("r3-d1", served.collector("3.0.0"))
    # killed once the removal has begun: journalled, the mark (which goes first) removed
    folder = agent.state / "modules" / "collector"
    deadline = time.monotonic() + 60
    while (folder / ".1.0.0.complete").exists() or not pruning_journal(agent.state):
        assert time.monotonic() < deadline, "the agent never started pruning"
        time.sleep(0.002)  # another process writes the files: nothing to wait on but them
    agent.kill()
    assert pruning_journal(agent.state) == [{"module": "collector", "version": "1.0.0"}], (
        "the pruning finished before the kill; make the pruned folder larger"
    )
    assert (folder / ".1.0.0.pruning").exists() or (folder / "1.0.0").exists()

    agent.start()
    with agent.client() as client:
        answer = client.poll("r3-d1", 0, wait=5)
        while answer.state is DeploymentState.RUNNING:
            answer = client.poll("r3-d1", answer.log_total, wait=5)
        assert answer.state is DeploymentState.SUCCEEDED, answer.message
    assert "the agent stopped while removing old module versions" in agent.log_text()
    assert agent.active() == {"collector": "3.0.0"}
    assert pruning_journal(agent.state) == []
    assert on_disk(agent.state, "collector") == [
        ".2.0.0.complete",
        ".3.0.0.complete",
        "2.0.0",
        "3.0.0",
        "current",
    ]


@pytest.mark.integration
def test_keep_versions_is_in_the_help(tmp_path):
    shown = subprocess.run(
        [sys.executable, "-m", "appupdater.agent", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"},
        check=True,
    ).stdout
    assert "--keep-versions N" in shown
    assert "default 2" in shown and "0 keeps only the active and the previous" in shown
