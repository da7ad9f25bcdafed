"""Lifecycle hooks and the health gate, in process, with real sh hooks in the artifacts: stop
old, switch, start new, health; an unhealthy version is rolled back; a hanging hook is killed at
its timeout; only hooks from the verified artifact ever run."""

from __future__ import annotations

import os
import time

import pytest

from appupdater.agent.parsing import BadRequest, parse_configuration
from appupdater.agent.state import Agent
from tests.agent.hook_artifacts import HookArtifacts
from tests.agent.test_agent import active, finished

ENV = (
    'echo "env prev=$APPUPDATER_PREVIOUS_VERSION cwd=$(pwd) path=$PATH '
    'state=$APPUPDATER_STATE_DIR home=${{HOME:-none}}" >> {order}\n'
)
BROKEN = 'echo "trying port 8080"\necho "connection refused"\nexit 1\n'


@pytest.fixture
def hooked(tmp_path):
    made = HookArtifacts(tmp_path / "artifacts")
    made.add("web-ui", "1.0.0", stop="", start="", health="")
    made.add("web-ui", "2.0.0", stop="", start=ENV.format(order=made.order), health="")
    made.add("web-ui", "3.0.0", stop="", start="", health=BROKEN, health_timeout="1")
    made.add("collector", "1.0.0")  # no hooks at all
    yield made
    made.close()


def agent_for(tmp_path, **options) -> Agent:
    agent = Agent(tmp_path / "device", "press-01", **options)
    agent.health_retry = 0.05
    return agent


def run(agent: Agent, deployment_id: str, configuration) -> dict:
    agent.put(deployment_id, configuration)
    return finished(agent, deployment_id)


def messages(answer: dict) -> list[str]:
    return [line["message"] for line in answer["log"]]


def test_a_healthy_update_runs_stop_old_start_new_health_in_order(tmp_path, hooked):
    agent = agent_for(tmp_path)
    first = run(agent, "d1", hooked.configuration(("web-ui", "1.0.0"), ("collector", "1.0.0")))
    assert first["state"] == "succeeded", first["message"]
    assert hooked.ran() == ["start web-ui 1.0.0", "health web-ui 1.0.0"]
    assert first["health"] == {"web-ui": "healthy", "collector": "unknown"}
    answer = run(agent, "d2", hooked.configuration(("web-ui", "2.0.0"), ("collector", "1.0.0")))
    assert answer["state"] == "succeeded", answer["message"]
    ran = hooked.ran()[2:]
    env = next(line for line in ran if line.startswith("env"))
    assert [line for line in ran if not line.startswith("env")] == [
        "stop web-ui 1.0.0",
        "start web-ui 2.0.0",
        "health web-ui 2.0.0",
    ]
    folder = agent.root / "modules" / "web-ui" / "2.0.0"
    assert env == (
        f"env prev=1.0.0 cwd={folder} path=/usr/local/bin:/usr/bin:/bin "
        f"state={agent.root / 'data' / 'web-ui'} home=none"
    )
    assert (agent.root / "data" / "web-ui").is_dir()
    assert "web-ui 2.0.0 healthy (1 attempt)" in messages(answer)
    assert answer["health"] == {"web-ui": "healthy", "collector": "unknown"}
    assert agent.status()["health"] == {"web-ui": "healthy", "collector": "unknown"}
    assert "collector 1.0.0 is active already; left as it is" in messages(answer)


def test_an_unhealthy_version_is_rolled_back_and_the_previous_one_started(tmp_path, hooked):
    agent = agent_for(tmp_path)
    assert run(agent, "d1", hooked.configuration(("web-ui", "1.0.0")))["state"] == "succeeded"
    answer = run(agent, "d2", hooked.configuration(("web-ui", "3.0.0"), version="3.0.0"))
    assert answer["state"] == "failed"
    assert answer["message"] == (
        "web-ui 3.0.0 unhealthy after 1 s: connection refused; rolled back to 1.0.0, healthy"
    )
    assert not answer["transient"]
    ran = hooked.ran()[2:]
    assert ran[:3] == ["stop web-ui 1.0.0", "start web-ui 3.0.0", "health web-ui 3.0.0"]
    assert ran[-3:] == ["stop web-ui 3.0.0", "start web-ui 1.0.0", "health web-ui 1.0.0"]
    assert ran.count("health web-ui 3.0.0") >= 2  # retried until its timeout
    log = messages(answer)
    assert "web-ui 3.0.0 hooks/health: trying port 8080" in log
    assert "web-ui 3.0.0 hooks/health: connection refused" in log
    assert active(agent.root) == {"web-ui": "1.0.0"}
    assert answer["health"] == {"web-ui": "healthy"}
    status = agent.status()
    assert status["installed"]["line-monitor"]["version"] == "1.0.0"
    assert status["health"] == {"web-ui": "healthy"}
    assert agent.journal is None


def test_a_hook_that_hangs_is_killed_with_its_process_group(tmp_path, hooked):
    pid_file = tmp_path / "child.pid"
    hooked.add(
        "web-ui", "4.0.0", start=f"sleep 300 &\necho $! > {pid_file}\nsleep 300\n", health=""
    )
    agent = agent_for(tmp_path, hook_timeout=0.5)
    run(agent, "d1", hooked.configuration(("web-ui", "1.0.0")))
    started = time.monotonic()
    answer = run(agent, "d2", hooked.configuration(("web-ui", "4.0.0"), version="4.0.0"))
    assert time.monotonic() - started < 20
    assert answer["state"] == "failed"
    assert "web-ui 4.0.0: hooks/start failed: hooks/start did not finish within 0.5 s" in (
        " ".join(messages(answer))
    )
    assert answer["message"] == (
        "web-ui 4.0.0 unhealthy: hooks/start did not finish within 0.5 s and was stopped; "
        "rolled back to 1.0.0, healthy"
    )
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)  # the background child went with the group
    assert active(agent.root) == {"web-ui": "1.0.0"}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    "extra",
    [
        {"hooks": {"start": "/bin/sh -c 'touch /tmp/x'"}},
        {"command": "/bin/true"},
        {"start": "/bin/true"},
    ],
)
def test_a_hook_or_command_in_a_request_is_refused(hooked, extra):
    body = hooked.body(("web-ui", "1.0.0"))
    body["applications"][0]["modules"][0].update(extra)
    with pytest.raises(BadRequest, match="unknown field"):
        parse_configuration(body)
    body = hooked.body(("web-ui", "1.0.0"))
    body.update(extra)
    with pytest.raises(BadRequest, match="unknown field"):
        parse_configuration(body)


def test_a_hook_changed_on_the_device_is_never_run(tmp_path, hooked):
    agent = agent_for(tmp_path)
    run(agent, "d1", hooked.configuration(("web-ui", "1.0.0")))
    stop = agent.root / "modules" / "web-ui" / "1.0.0" / "hooks" / "stop"
    stop.write_text(f"#!/bin/sh\necho tampered >> {hooked.order}\n")
    answer = run(agent, "d2", hooked.configuration(("web-ui", "2.0.0"), version="2.0.0"))
    assert "tampered" not in hooked.ran()
    assert any(
        "hooks/stop is not as the verified artifact brought it" in line for line in messages(answer)
    )
    assert answer["state"] == "succeeded"  # a stop that cannot run is a warning


def test_a_hook_that_is_a_link_is_never_run(tmp_path, hooked):
    from appupdater.demo.agents import write_tarball

    files = {"web-ui/run.sh": f"#!/bin/sh\necho linked >> {hooked.order}\n"}
    hooked.sha[("web-ui", "5.0.0")] = write_tarball(
        hooked.folder / "web-ui-5.0.0.tar.gz", files, links={"hooks/start": "../web-ui/run.sh"}
    )
    agent = agent_for(tmp_path)
    answer = run(agent, "d1", hooked.configuration(("web-ui", "5.0.0"), version="5.0.0"))
    assert "linked" not in hooked.ran()
    assert answer["state"] == "failed"
    assert answer["message"] == (
        "web-ui 5.0.0 unhealthy: web-ui 5.0.0: hooks/start is not a plain file; it is not run; "
        "rolled back: web-ui deactivated (it had no version before)"
    )
    assert not os.path.islink(agent.root / "modules" / "web-ui" / "current")


def test_health_in_answers_is_read_tolerantly():
    from appupdater.agent.protocol import DeploymentAnswer, Status

    assert Status.from_json({"health": {"web-ui": "healthy", "x": 3}}).health == {
        "web-ui": "healthy"
    }
    assert Status.from_json({"health": ["healthy"]}).health == {}
    assert Status.from_json({}).health == {}
    answer = DeploymentAnswer.from_json({"state": "failed", "health": {"web-ui": "unknown"}})
    assert answer.health == {"web-ui": "unknown"}
    assert DeploymentAnswer.from_json({"state": "failed", "health": None}).health == {}


def test_a_cancel_during_the_health_wait_rolls_back(tmp_path, hooked):
    hooked.add("web-ui", "6.0.0", stop="", start="", health="exit 1\n", health_timeout="300")
    agent = agent_for(tmp_path)
    run(agent, "d1", hooked.configuration(("web-ui", "1.0.0")))
    agent.put("d2", hooked.configuration(("web-ui", "6.0.0"), version="6.0.0"))
    deadline = time.monotonic() + 20
    while "health web-ui 6.0.0" not in hooked.ran():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    agent.cancel("d2")
    answer = finished(agent, "d2")
    assert answer["state"] == "cancelled"
    assert answer["message"] == "cancelled; the device runs what it ran before"
    assert hooked.ran()[-3:] == ["stop web-ui 6.0.0", "start web-ui 1.0.0", "health web-ui 1.0.0"]
    assert active(agent.root) == {"web-ui": "1.0.0"}
    assert agent.status()["health"] == {"web-ui": "healthy"}


def test_a_module_left_out_is_stopped_and_an_unchanged_one_is_not_touched(tmp_path, hooked):
    hooked.add("alerts", "1.0.0", stop="", start="", health="")
    agent = agent_for(tmp_path)
    run(agent, "d1", hooked.configuration(("web-ui", "1.0.0"), ("alerts", "1.0.0")))
    before = len(hooked.ran())
    answer = run(agent, "d2", hooked.configuration(("alerts", "1.0.0"), version="2.0.0"))
    assert answer["state"] == "succeeded", answer["message"]
    assert hooked.ran()[before:] == ["stop web-ui 1.0.0"]
    assert active(agent.root) == {"alerts": "1.0.0"}
    assert agent.status()["health"] == {"alerts": "healthy"}
