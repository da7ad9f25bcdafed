"""Names and versions that become folders on the device: the agent checks them with the one
rule (appupdater/names.py), and an agent whose module folder was broken by a version named
`current` repairs itself at start and says what it did."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from appupdater.agent.parsing import BadRequest, parse_configuration
from appupdater.agent.state import Agent
from appupdater.names import name_problem
from tests.agent.test_api import SPEC
from tests.agents import (
    AgentProcess,
    ArtifactServer,
    agent_configuration,
    build_artifacts,
    seed_version_1,
)

SHA = "a" * 64


def body(app="line", version="1.0", module="collector", module_version="1.0", url=None):
    url = url or "http://artifacts.example/collector.tar.gz"
    entry = {"name": module, "version": module_version, "url": url, "sha256": SHA}
    return {"applications": [{"name": app, "version": version, "modules": [entry]}]}


@pytest.mark.parametrize(
    ("field", "value", "place"),
    [
        ("app", "a/b", "applications[0].name"),
        ("app", "line-monitor\n", "applications[0].name"),
        ("version", "current", "applications[0].version"),
        ("version", "１.０", "applications[0].version"),
        ("module", "../../etc", "applications[0].modules[0].name"),
        ("module", "current", "applications[0].modules[0].name"),
        ("module_version", "current", "applications[0].modules[0].version"),
        ("module_version", "Current", "applications[0].modules[0].version"),
        ("module_version", "١.٢.٣", "applications[0].modules[0].version"),
        ("module_version", "1.0\n", "applications[0].modules[0].version"),
        ("module_version", ".hidden", "applications[0].modules[0].version"),
        ("module_version", "x" * 129, "applications[0].modules[0].version"),
    ],
)
def test_names_and_versions_follow_the_one_rule(field, value, place):
    with pytest.raises(BadRequest) as refused:
        parse_configuration(body(**{field: value}))
    assert refused.value.status == 400
    assert str(refused.value) == f"{place}: {name_problem(value)}"


def test_current_is_named_as_reserved():
    with pytest.raises(BadRequest) as refused:
        parse_configuration(body(module_version="current"))
    assert str(refused.value).startswith(
        "applications[0].modules[0].version: 'current' is reserved: "
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://host/a.tar.gz", "must be an http://, https:// or file:// URL"),
        ("data:,hello", "must be an http://, https:// or file:// URL"),
        ("http://", "names no host"),
        ("https:///a.tar.gz", "names no host"),
        (
            "file://otherhost/a.tar.gz",
            "a file:// URL names a file on this device, not on otherhost",
        ),
        ("file://", "names no file"),
        ("http://host/a b.tar.gz", "must not contain spaces or control characters"),
        ("http://host/a\n.tar.gz", "must not contain spaces or control characters"),
    ],
)
def test_urls_are_checked_as_the_download_takes_them(url, why):
    with pytest.raises(BadRequest) as refused:
        parse_configuration(body(url=url))
    assert str(refused.value) == f"applications[0].modules[0].url: {why}"


@pytest.mark.parametrize(
    "url",
    [
        "http://host/a.tar.gz",
        "HTTPS://host:8443/a.tar.gz?x=1",
        "file:///srv/artifacts/a.tar.gz",
        "file://localhost/srv/a.tar.gz",
    ],
)
def test_good_urls_are_taken(url):
    assert parse_configuration(body(url=url)).applications[0].modules[0].url == url


def broken_by_current(root: Path, running: bool = False) -> None:
    """The agent folder as an earlier agent left it after a deployment of collector version
    `current`: a real folder where the link belongs, the good version beside it, and the
    deployment in state.json."""
    modules = root / "modules" / "collector"
    (modules / "current" / "collector").mkdir(parents=True)
    (modules / "current" / "collector" / "VERSION").write_text("collector current\n")
    (modules / "1.0.0" / "collector").mkdir(parents=True)
    (modules / "1.0.0" / "collector" / "VERSION").write_text("collector 1.0.0\n")
    configuration = body(module_version="1.0.0")
    configuration["applications"][0]["modules"][0]["version"] = "current"
    deployment = {
        "id": "broke-it",
        "state": "running" if running else "failed",
        "phase": "",
        "progress": 0,
        "message": "" if running else "unexpected error on the device: IsADirectoryError",
        "configuration": configuration,
        "log": [],
    }
    state = {"installed": {}, "deployments": [deployment], "journal": None}
    (root / "state.json").write_text(json.dumps(state))


def test_an_agent_broken_by_a_version_named_current_repairs_itself(tmp_path, caplog):
    root = tmp_path / "device"
    broken_by_current(root)
    with caplog.at_level(logging.WARNING, logger="appupdater.agent"):
        agent = Agent(root, "press-01")
    moved = [p for p in (root / "modules" / "collector").iterdir() if p.name.startswith(".")]
    assert len(moved) == 1 and (moved[0] / "collector" / "VERSION").exists()
    assert not (root / "modules" / "collector" / "current").exists()
    assert (root / "modules" / "collector" / "1.0.0").is_dir()  # the good version is kept
    warning = caplog.records[-1].getMessage()
    assert warning == (
        f"modules/collector/current was a folder, not the link to the active version (left by "
        f"a deployment of a version named 'current'); moved it to modules/collector/"
        f"{moved[0].name}, so that collector can be deployed again"
    )
    assert agent.get("broke-it")["state"] == "failed"  # its record is kept

    artifacts = build_artifacts(tmp_path / "artifacts", padding=0)
    server = ArtifactServer(tmp_path / "artifacts")
    try:
        configuration = agent_configuration(server.url, artifacts, "1.0.0")
        agent.put("d2", configuration)
        answer = agent.get("d2", wait=30)
        while answer["state"] == "running":
            answer = agent.get("d2", log_after=answer["log_total"], wait=30)
    finally:
        server.close()
    assert answer["state"] == "succeeded", answer["message"]
    assert agent.status()["active_modules"] == {"collector": "1.0.0", "dashboard": "1.0.0"}
    # a second start finds nothing to repair
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="appupdater.agent"):
        Agent(root)
    assert not caplog.records


def test_a_resumed_deployment_of_version_current_fails_without_breaking_again(tmp_path):
    root = tmp_path / "device"
    broken_by_current(root, running=True)
    agent = Agent(root)
    agent.resume()
    answer = agent.get("broke-it", wait=30)
    while answer["state"] == "running":
        answer = agent.get("broke-it", log_after=answer["log_total"], wait=30)
    assert answer["state"] == "failed"
    assert (
        "collector current cannot be put on this device: the version 'current' is reserved"
        in (answer["message"])
    )
    assert not (root / "modules" / "collector" / "current").exists()


@pytest.mark.integration
def test_a_real_agent_process_repairs_the_folder_and_deploys_again(tmp_path):
    artifacts = build_artifacts(tmp_path / "artifacts", padding=0)
    server = ArtifactServer(tmp_path / "artifacts")
    agent = AgentProcess("press-09", tmp_path / "agents" / "press-09")
    broken_by_current(agent.state)
    try:
        agent.start()
        seed_version_1(agent, server.url, artifacts)
        assert agent.active() == {"collector": "1.0.0", "dashboard": "1.0.0"}
        assert "modules/collector/current was a folder" in agent.log_text()
    finally:
        agent.stop()
        server.close()


def test_the_documented_name_is_the_one_rule():
    name = SPEC["components"]["schemas"]["Name"]
    for text in ["1.0.0", "line-monitor", "a+b_c", "current", "CURRENT", "a/b", ".x", "x" * 129]:
        documented = re.fullmatch(name["pattern"][1:-1], text) is not None and not re.fullmatch(
            name["not"]["pattern"][1:-1], text
        )
        assert documented == (name_problem(text) is None), text
