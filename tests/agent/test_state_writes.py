"""A state file the agent cannot write (disk full, a broken folder) fails the deployment that
needed the write, with the reason, and leaves the agent taking the next one: in process with
an injected failing write at every write a deployment makes, and with the real process."""

from __future__ import annotations

import errno
import json

import pytest

from appupdater.agent import fetching as agent_fetching
from appupdater.agent import state as agent_state
from appupdater.agent.deployment import Deployment
from appupdater.agent.state import KEEP_DEPLOYMENTS, Agent
from appupdater.demo.agents import put_and_wait
from tests.agent.test_agent import active, finished
from tests.agents import AgentProcess, ArtifactServer, agent_configuration, build_artifacts

V1_ACTIVE = {"collector": "1.0.0", "dashboard": "1.0.0"}
V2_ACTIVE = {"collector": "2.0.0", "alerts": "1.0.0"}


@pytest.fixture
def served(tmp_path):
    """line-monitor 1.0.0 and 2.0.0 over HTTP: version -> its configuration."""
    folder = tmp_path / "artifacts"
    made = build_artifacts(folder, padding=0)
    server = ArtifactServer(folder)
    yield {
        version: agent_configuration(server.url, made, version) for version in ("1.0.0", "2.0.0")
    }
    server.close()


class FailingWrites:
    """write_json_atomically failing with ENOSPC from its `first`-th call on, while `on`."""

    def __init__(self, first: int):
        self.first, self.calls, self.on = first, 0, True
        self.real = agent_state.write_json_atomically

    def __call__(self, path, text):
        self.calls += 1
        if self.on and self.calls >= self.first:
            raise OSError(errno.ENOSPC, "No space left on device", str(path.with_suffix(".tmp")))
        return self.real(path, text)


def writes_of_a_deployment(tmp_path, served) -> int:
    """How many state writes deploying v2 over v1 takes when nothing fails."""
    agent = Agent(tmp_path / "count", "press-01")
    agent.put("d1", served["1.0.0"])
    finished(agent, "d1")
    counter = FailingWrites(first=10**9)
    agent_state.write_json_atomically = counter
    try:
        agent.put("d2", served["2.0.0"])
        assert finished(agent, "d2")["state"] == "succeeded"
    finally:
        agent_state.write_json_atomically = counter.real
    return counter.calls


def test_a_failed_state_write_fails_the_deployment_and_the_next_one_runs(
    tmp_path, served, monkeypatch
):
    total = writes_of_a_deployment(tmp_path, served)
    assert total > 5
    for first in range(1, total + 1):
        agent = Agent(tmp_path / f"device-{first}", "press-01")
        agent.put("d1", served["1.0.0"])
        assert finished(agent, "d1")["state"] == "succeeded"
        failing = FailingWrites(first)
        monkeypatch.setattr(agent_state, "write_json_atomically", failing)
        created, answer = agent.put("d2", served["2.0.0"])
        assert created
        answer = finished(agent, "d2")
        where = f"failing from write {first} of {total}"
        assert answer["state"] == "failed", where
        assert "could not write its state file" in answer["message"], where
        assert "No space left on device" in answer["message"], where
        assert answer["transient"], where
        assert agent.status()["deployment_in_progress"] is None, where
        # what it says about the device is true: the links are v1's, unless the last write
        # (the success) failed, which says v2 is active
        if "active: line-monitor 2.0.0" in answer["message"]:
            assert active(agent.root) == V2_ACTIVE, where
        else:
            assert active(agent.root) == V1_ACTIVE, where
            assert "runs what it ran before" in answer["message"], where
        # the disk has room again: the same deployment once more, and another, both run
        failing.on = False
        agent.put("d2", served["2.0.0"])
        assert finished(agent, "d2")["state"] == "succeeded", where
        agent.put("d3", served["1.0.0"])
        assert finished(agent, "d3")["state"] == "succeeded", where
        assert active(agent.root) == V1_ACTIVE
        # and a restart finds what the agent last said
        restarted = Agent(agent.root)
        assert restarted.get("d3")["state"] == "succeeded"
        monkeypatch.undo()


def test_cancel_is_taken_even_when_its_log_line_cannot_be_written(tmp_path, served, monkeypatch):
    agent = Agent(tmp_path / "device", "press-01")
    release = agent_state.threading.Event()
    held = agent_state.threading.Event()
    real_download = agent_fetching.download

    def held_download(*args, **options):
        held.set()
        release.wait(10)
        return real_download(*args, **options)

    monkeypatch.setattr(agent_fetching, "download", held_download)
    agent.put("d1", served["1.0.0"])
    # the deployment's own writes up to its download (the phase it reports) still succeed
    assert held.wait(10)
    failing = FailingWrites(first=1)
    monkeypatch.setattr(agent_state, "write_json_atomically", failing)
    assert agent.cancel("d1")["state"] == "running"
    release.set()
    answer = finished(agent, "d1")
    assert answer["state"] in ("cancelled", "failed")
    assert agent.status()["deployment_in_progress"] is None


@pytest.mark.integration
@pytest.mark.parametrize("when", ["from the start", "after a restart"])
def test_the_agent_process_with_a_state_file_it_cannot_write(tmp_path, when):
    folder = tmp_path / "artifacts"
    made = build_artifacts(folder, padding=0)
    server = ArtifactServer(folder)
    agent = AgentProcess("press-07", tmp_path / "state").start()
    blocker = agent.state / "state.json.tmp"  # where the state is written before its rename
    try:
        with agent.client() as client:
            if when == "after a restart":
                put_and_wait(client, "d0", agent_configuration(server.url, made, "1.0.0"))
                agent.stop()
                agent.start()
            blocker.mkdir()
            answer = put_and_wait(client, "d1", agent_configuration(server.url, made, "2.0.0"))
            assert answer.state == "failed"
            assert "state file" in answer.message, answer.message
            assert client.status().deployment_in_progress is None
            blocker.rmdir()
            answer = put_and_wait(client, "d2", agent_configuration(server.url, made, "2.0.0"))
            assert answer.state == "succeeded", answer.message
    finally:
        agent.stop()
        server.close()
    assert agent.active() == {"collector": "2.0.0", "alerts": "1.0.0"}


def test_a_restart_that_cannot_write_fails_the_resumed_deployment(tmp_path, served, monkeypatch):
    """A deployment found running at start-up, with as many finished ones beside it as are kept
    (ending it trims the oldest while the running ones are walked)."""
    root = tmp_path / "device"
    agent = Agent(root, "press-01")
    entry = Deployment("d0", served["1.0.0"]).to_json()
    finished_ones = [
        {**entry, "id": f"old-{i}", "state": "succeeded"} for i in range(KEEP_DEPLOYMENTS)
    ]
    state = {"installed": {}, "deployments": [*finished_ones, {**entry, "id": "d1"}]}
    agent.state_file.write_text(json.dumps(state))
    monkeypatch.setattr(agent_state, "write_json_atomically", FailingWrites(first=1))
    restarted = Agent(root, "press-01")
    restarted.resume()
    answer = restarted.get("d1")
    assert answer["state"] == "failed"
    assert "could not write its state file" in answer["message"]
    assert restarted.status()["deployment_in_progress"] is None
