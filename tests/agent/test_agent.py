"""The agent's own behaviour, in process: activation, removal, rollback, unsafe archives,
restarts, and that it runs on the standard library alone (its API: test_api.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from appupdater.agent import files as agent_files
from appupdater.agent.parsing import BadRequest, parse_configuration
from appupdater.agent.state import Agent, Conflict
from appupdater.demo.agents import module_files
from appupdater.demo.agents import write_tarball as make_tarball
from tests.agents import REPO, ArtifactServer


@pytest.fixture
def artifacts(tmp_path):
    """The modules' tarballs, served over HTTP (the agent reads file:// URLs only from a folder
    it is started with): (module, version) -> (url, sha256)."""
    folder = tmp_path / "artifacts"
    made = {}
    for name, version in [
        ("collector", "1.0.0"),
        ("dashboard", "1.0.0"),
        ("collector", "2.0.0"),
        ("alerts", "1.0.0"),
    ]:
        path = folder / f"{name}-{version}.tar.gz"
        made[(name, version)] = (path.name, make_tarball(path, module_files(name, version)))
    server = ArtifactServer(folder)
    yield {key: (f"{server.url}/{file}", sha) for key, (file, sha) in made.items()}
    server.close()


def config(artifacts, version, modules, **override):
    entries = []
    for name, module_version in modules:
        url, sha = artifacts[(name, module_version)]
        entry = {"name": name, "version": module_version, "url": url, "sha256": sha}
        entry.update(override.get(name, {}))
        entries.append(entry)
    return parse_configuration(
        {"applications": [{"name": "line-monitor", "version": version, "modules": entries}]}
    )


V1 = [("collector", "1.0.0"), ("dashboard", "1.0.0")]
V2 = [("collector", "2.0.0"), ("alerts", "1.0.0")]


def finished(agent: Agent, deployment_id: str) -> dict:
    """Wait for the deployment's end the way a client does: long polls."""
    seen = 0
    for _ in range(200):
        answer = agent.get(deployment_id, log_after=seen, wait=1.0)
        if answer["state"] != "running":
            return agent.get(deployment_id)
        seen = answer["log_total"]
    raise AssertionError(f"{deployment_id} did not finish")


def active(root: Path) -> dict[str, str]:
    return {
        link.parent.name: link.readlink().name
        for link in (root / "modules").glob("*/current")
        if link.is_symlink()
    }


def test_deploy_activates_together_and_removes_what_is_gone(tmp_path, artifacts):
    agent = Agent(tmp_path / "device", "press-01")
    agent.put("d1", config(artifacts, "1.0.0", V1))
    assert finished(agent, "d1")["state"] == "succeeded"
    assert active(agent.root) == {"collector": "1.0.0", "dashboard": "1.0.0"}
    agent.put("d2", config(artifacts, "2.0.0", V2))
    answer = finished(agent, "d2")
    assert answer["state"] == "succeeded", answer["message"]
    assert active(agent.root) == {"collector": "2.0.0", "alerts": "1.0.0"}
    current = agent.root / "modules" / "collector" / "current" / "collector" / "VERSION"
    assert current.read_text() == "collector 2.0.0\n"
    # the previous versions are kept on disk, the removed module is no longer active
    assert (agent.root / "modules" / "collector" / "1.0.0").is_dir()
    assert (agent.root / "modules" / "dashboard" / "1.0.0").is_dir()
    assert not (agent.root / "modules" / "dashboard" / "current").exists()
    messages = [line["message"] for line in agent.get("d2")["log"]]
    assert "deactivated dashboard 1.0.0 (kept on disk)" in messages
    status = agent.status()
    assert status["installed"] == {
        "line-monitor": {"version": "2.0.0", "modules": {"collector": "2.0.0", "alerts": "1.0.0"}}
    }
    # the same id again is answered, not run again; the state survives a new agent
    created, again = agent.put("d2", config(artifacts, "2.0.0", V2))
    assert not created and again["state"] == "succeeded" and again["attempts"] == 1
    reopened = Agent(agent.root)
    assert reopened.status()["installed"] == status["installed"]
    assert reopened.get("d2")["state"] == "succeeded"


def test_hash_mismatch_fails_and_keeps_what_ran(tmp_path, artifacts):
    agent = Agent(tmp_path / "device")
    agent.put("d1", config(artifacts, "1.0.0", V1))
    finished(agent, "d1")
    wrong = {"alerts": {"sha256": "0" * 64}}
    agent.put("d2", config(artifacts, "2.0.0", V2, **wrong))
    answer = finished(agent, "d2")
    assert answer["state"] == "failed"
    assert "hash mismatch for alerts 1.0.0" in answer["message"]
    assert active(agent.root) == {"collector": "1.0.0", "dashboard": "1.0.0"}
    assert not (agent.root / "modules" / "alerts").exists()
    assert not list((agent.root / "downloads").glob("*.part"))
    assert agent.status()["installed"]["line-monitor"]["version"] == "1.0.0"


def test_a_failed_deployment_retried_with_a_corrected_configuration_runs_it(tmp_path, artifacts):
    """The workstation retries under the same id after the artifact was corrected (or a newer
    version configured): the agent runs the configuration given now, as a second attempt — not
    a 409 'busy' — and remembers it; while one runs or after it succeeded, another
    configuration under its id stays refused."""
    agent = Agent(tmp_path / "device")
    wrong = {"alerts": {"sha256": "0" * 64}}
    agent.put("d1", config(artifacts, "2.0.0", V2, **wrong))
    assert finished(agent, "d1")["state"] == "failed"
    created, again = agent.put("d1", config(artifacts, "2.0.0", V2))
    assert not created and again["attempts"] == 2
    assert finished(agent, "d1")["state"] == "succeeded"
    assert active(agent.root) == {"collector": "2.0.0", "alerts": "1.0.0"}
    assert Agent(agent.root).get("d1")["state"] == "succeeded"  # the new one, on disk
    with pytest.raises(Conflict, match="d1 installed another configuration on this device"):
        agent.put("d1", config(artifacts, "1.0.0", V1))


@pytest.mark.parametrize(
    ("files", "links", "why"),
    [
        ({"../escaped.txt": "x"}, {}, "climbs out with '..'"),
        ({"/tmp/absolute-escape.txt": "x"}, {}, "absolute path"),
        ({"ok.txt": "x"}, {"link": "../../../outside"}, "points outside its folder"),
        ({"ok.txt": "x"}, {"abs": "/etc/passwd"}, "points outside its folder"),
    ],
)
def test_unsafe_archives_are_refused_and_nothing_is_written_outside(
    tmp_path, artifacts, files, links, why
):
    agent = Agent(tmp_path / "device")
    agent.put("d1", config(artifacts, "1.0.0", V1))
    finished(agent, "d1")
    evil = tmp_path / "artifacts" / "alerts-evil.tar.gz"
    sha = make_tarball(evil, files, links)
    before = sorted(p.name for p in tmp_path.iterdir())
    served = artifacts[("alerts", "1.0.0")][0].rsplit("/", 1)[0]  # the same server
    override = {"alerts": {"url": f"{served}/{evil.name}", "sha256": sha}}
    agent.put("d2", config(artifacts, "2.0.0", V2, **override))
    answer = finished(agent, "d2")
    assert answer["state"] == "failed"
    assert "alerts 1.0.0 is refused" in answer["message"] and why in answer["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not Path("/tmp/absolute-escape.txt").exists()
    assert active(agent.root) == {"collector": "1.0.0", "dashboard": "1.0.0"}
    assert not (agent.root / "modules" / "alerts" / "1.0.0").exists()
    assert not list((agent.root / "staging").iterdir())


def test_a_failure_while_switching_links_puts_every_link_back(tmp_path, artifacts, monkeypatch):
    agent = Agent(tmp_path / "device")
    agent.put("d1", config(artifacts, "1.0.0", V1))
    finished(agent, "d1")
    real = agent_files.switch_link
    switched = []

    def failing(link, target):
        switched.append(link.parent.name)
        if len(switched) == 2:  # the first link is already switched
            raise OSError(28, "No space left on device")
        real(link, target)

    monkeypatch.setattr("appupdater.agent.activation.switch_link", failing)
    agent.put("d2", config(artifacts, "2.0.0", V2))
    answer = finished(agent, "d2")
    monkeypatch.undo()
    assert answer["state"] == "failed" and "No space left on device" in answer["message"]
    assert active(agent.root) == {"collector": "1.0.0", "dashboard": "1.0.0"}
    assert json.loads((agent.root / "state.json").read_text())["journal"] is None


def test_restart_in_the_middle_of_an_activation_rolls_back_then_runs_again(tmp_path, artifacts):
    agent = Agent(tmp_path / "device")
    agent.put("d1", config(artifacts, "1.0.0", V1))
    finished(agent, "d1")
    # as a power cut would leave it: d2 running, its journal written, one link switched
    state_file = agent.root / "state.json"
    state = json.loads(state_file.read_text())
    d2 = config(artifacts, "2.0.0", V2)
    state["deployments"].append(
        {
            "id": "d2",
            "state": "running",
            "phase": "installing",
            "progress": 70,
            "configuration": d2.to_json(),
            "log": [],
        }
    )
    state["journal"] = {
        "deployment": "d2",
        "previous": {"alerts": None, "collector": "1.0.0", "dashboard": "1.0.0"},
    }
    state_file.write_text(json.dumps(state))
    (agent.root / "modules" / "collector" / "2.0.0").mkdir()
    agent_files.switch_link(agent.root / "modules" / "collector" / "current", "2.0.0")

    restarted = Agent(agent.root)
    assert active(restarted.root) == {"collector": "1.0.0", "dashboard": "1.0.0"}
    (agent.root / "modules" / "collector" / "2.0.0").rmdir()  # a half-made folder, as it was
    restarted.resume()
    answer = finished(restarted, "d2")
    assert answer["state"] == "succeeded", answer["message"]
    assert "the agent restarted during this deployment" in " ".join(
        line["message"] for line in answer["log"]
    )
    assert active(restarted.root) == {"collector": "2.0.0", "alerts": "1.0.0"}


def test_one_deployment_at_a_time_and_cancel(tmp_path, artifacts, monkeypatch):
    gate = threading.Event()
    real = agent_files.download

    def held_download(*args, cancelled, **kwargs):
        while not gate.is_set() and not cancelled():
            gate.wait(0.01)
        return real(*args, cancelled=cancelled, **kwargs)

    monkeypatch.setattr("appupdater.agent.fetching.download", held_download)
    agent = Agent(tmp_path / "device")
    agent.put("d1", config(artifacts, "1.0.0", V1))
    with pytest.raises(Conflict, match="d1 is in progress"):
        agent.put("d2", config(artifacts, "2.0.0", V2))
    with pytest.raises(Conflict, match="d1 is running another configuration"):
        agent.put("d1", config(artifacts, "2.0.0", V2))
    agent.cancel("d1")
    answer = finished(agent, "d1")
    assert answer["state"] == "cancelled"
    assert active(agent.root) == {}
    # a cancelled deployment put again is a retry
    gate.set()
    created, again = agent.put("d1", config(artifacts, "1.0.0", V1))
    assert not created and again["attempts"] == 2
    assert finished(agent, "d1")["state"] == "succeeded"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "the body: must be a JSON object"),
        ({}, "missing field 'applications'"),
        ({"applications": [{"name": "a", "version": "1", "modules": [{}]}]}, "missing field"),
        (
            {
                "applications": [
                    {
                        "name": "a",
                        "version": "1",
                        "modules": [
                            {"name": "m", "version": "1", "url": "ftp://x", "sha256": "0" * 64}
                        ],
                    }
                ]
            },
            "must be an http://, https:// or file:// URL",
        ),
        (
            {
                "applications": [
                    {
                        "name": "a",
                        "version": "1",
                        "modules": [
                            {"name": "../m", "version": "1", "url": "file:///x", "sha256": "0" * 64}
                        ],
                    }
                ]
            },
            "modules[0].name",
        ),
        ({"applications": [], "extra": 1}, "extra: unknown field"),
    ],
)
def test_malformed_configurations_name_the_problem(body, message):
    with pytest.raises(BadRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_configuration(body)


@pytest.mark.integration
def test_the_agent_needs_only_the_standard_library(tmp_path):
    """In a virtual environment without any package (no PySide6, peewee, PyYAML) the agent
    starts and answers --version; and importing it pulls in no third-party module."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    check = (
        "import sys; sys.path.insert(0, sys.argv[1]); import appupdater.agent.server; "
        "third = sorted(m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names"
        " and m.split('.')[0] not in ('appupdater', '__main__')); print(third)"
    )
    imported = subprocess.run(
        [str(python), "-c", check, str(REPO)], capture_output=True, text=True, check=True
    )
    assert imported.stdout.strip() == "[]"
    version = subprocess.run(
        [str(python), "-m", "appupdater.agent", "--version"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO)},
        check=True,
    )
    assert version.stdout.startswith("appupdater-agent ")
    missing = subprocess.run([str(python), "-c", "import PySide6"], capture_output=True, text=True)
    assert missing.returncode != 0  # the environment really is bare
