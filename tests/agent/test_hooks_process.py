"""The health gate with the real agent process: a SIGKILL during the health wait leaves a
journal that the restarted agent resumes from, ending healthy on one side or the other; the
deployment's answer and the status carry each module's health to the workstation."""

from __future__ import annotations

import time

import pytest

from appupdater.agent.protocol import DeploymentState
from appupdater.demo.agents import put_and_wait
from tests.agent.hook_artifacts import HookArtifacts
from tests.agents import AgentProcess


@pytest.fixture
def agents():
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        agent.stop()


def wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds:g} s for {what}"
        time.sleep(0.05)


@pytest.mark.integration
@pytest.mark.parametrize("comes_up", [True, False])
def test_sigkill_during_the_health_wait_resumes_and_ends_healthy(tmp_path, agents, comes_up):
    hooked = HookArtifacts(tmp_path / "artifacts")
    ready = tmp_path / "ready"
    try:
        hooked.add("web-ui", "1.0.0", stop="", start="", health="")
        waiting = f'[ -e {ready} ] && exit 0\necho "not listening yet"\nexit 1\n'
        hooked.add("web-ui", "2.0.0", stop="", start="", health=waiting, health_timeout="4")
        agent = AgentProcess("press-01", tmp_path / "agents" / "press-01").start()
        agents.append(agent)
        v1 = hooked.configuration(("web-ui", "1.0.0"))
        v2 = hooked.configuration(("web-ui", "2.0.0"), version="2.0.0")
        with agent.client() as client:
            assert put_and_wait(client, "r1-d1", v1).state is DeploymentState.SUCCEEDED
            client.put("r2-d1", v2)
        wait_for(lambda: "health web-ui 2.0.0" in hooked.ran(), "the health wait")
        agent.kill()
        assert agent.active() == {"web-ui": "2.0.0"}  # killed with the new version switched in
        before = len(hooked.ran())
        if comes_up:
            ready.touch()
        agent.start()
        with agent.client() as client:
            answer = put_and_wait(client, "r2-d1", v2)
            status = client.status()
            log = [line.message for line in client.poll("r2-d1").log]
        ran = [line for line in hooked.ran()[before:] if line != "health web-ui 2.0.0"]
        # the restart stops the new version and starts the previous one before anything else
        assert ran[:3] == ["stop web-ui 2.0.0", "start web-ui 1.0.0", "health web-ui 1.0.0"]
        assert (
            "the agent stopped while activating; stopping the new versions and starting the "
            "previous ones again" in log
        )
        if comes_up:
            assert answer.state is DeploymentState.SUCCEEDED, answer.message
            assert ran[3:] == ["stop web-ui 1.0.0", "start web-ui 2.0.0"]
            assert agent.active() == {"web-ui": "2.0.0"}
        else:
            assert answer.state is DeploymentState.FAILED
            assert answer.message == (
                "web-ui 2.0.0 unhealthy after 4 s: not listening yet; rolled back to 1.0.0, healthy"
            )
            assert ran[-3:] == ["stop web-ui 2.0.0", "start web-ui 1.0.0", "health web-ui 1.0.0"]
            assert agent.active() == {"web-ui": "1.0.0"}
        assert answer.health == {"web-ui": "healthy"}
        assert status.health == {"web-ui": "healthy"}
        assert status.versions() == {"line-monitor": "2.0.0" if comes_up else "1.0.0"}
    finally:
        hooked.close()
