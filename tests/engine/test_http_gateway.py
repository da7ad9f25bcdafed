"""The HTTP gateway's own logic, without an agent: the configuration it sends, how it reads an
answer, and that a cancel it cannot deliver is not taken for a stop."""

from __future__ import annotations

import socket

import pytest

from appupdater.agent.parsing import parse_configuration
from appupdater.agent.protocol import DeploymentAnswer, DeploymentState, LogLevel, Phase
from appupdater.core.catalog import ModuleInfo
from appupdater.core.jobs import AppConfig, Connection, DeploymentJob
from appupdater.engine.gateways.agent_client import AgentClient
from appupdater.engine.gateways.base import StopUnconfirmed
from appupdater.engine.gateways.http import HttpGateway, configuration_of
from appupdater.errors import DeviceRejected

SHA = "ab" * 32


def job(*modules: ModuleInfo) -> DeploymentJob:
    app = AppConfig("line-monitor", "2.0.0", 7, modules)
    return DeploymentJob(3, 2, 1, "press-01", {}, None, 1, "test", (app,))


def test_the_configuration_sent_is_the_one_the_agent_parses():
    sent = configuration_of(
        job(
            ModuleInfo("collector", "2.0.0", "img", "https://a.example/c.tgz", SHA),
            ModuleInfo("alerts", "1.0.0", "img", "file:///srv/a.tgz", SHA),
        )
    )
    assert parse_configuration(sent.to_json()) == sent
    assert [(m.name, m.url) for m in sent.modules] == [
        ("collector", "https://a.example/c.tgz"),
        ("alerts", "file:///srv/a.tgz"),
    ]


def test_a_module_without_an_artifact_is_named():
    with pytest.raises(DeviceRejected) as refused:
        configuration_of(job(ModuleInfo("alerts", "1.0.0", "img")))
    assert "alerts 1.0.0 of line-monitor 2.0.0 has no artifact" in str(refused.value)
    assert "cannot go to press-01" in str(refused.value)


def test_an_answer_is_read_tolerantly():
    answer = DeploymentAnswer.from_json(
        {
            "state": "running",
            "phase": "installing",
            "progress": 42.5,
            "log": [{"at": "t", "level": "warning", "message": "slow"}, "noise"],
            "log_total": 9,
        }
    )
    assert (answer.state, answer.phase, answer.progress) == (
        DeploymentState.RUNNING,
        Phase.INSTALLING,
        42,
    )
    assert [(line.level, line.message) for line in answer.log] == [(LogLevel.WARNING, "slow")]
    assert answer.log_total == 9
    newer = DeploymentAnswer.from_json({"state": "paused", "phase": "thinking", "log": [{}]}, 4)
    assert (newer.state, newer.phase, newer.log_total) == (None, None, 5)
    assert newer.log[0].level is LogLevel.INFO


def test_a_cancel_that_cannot_be_delivered_is_not_taken_for_a_stop():
    """An agent that cannot be reached may still finish: the gateway says the stop is not
    confirmed (never `Stopped`), naming the device and why."""
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    client = AgentClient("press-01", Connection(f"http://127.0.0.1:{port}", "x" * 16), 2)
    with pytest.raises(StopUnconfirmed) as raised:
        HttpGateway(timeout=2)._stop(client, "r2-d3")
    assert str(raised.value).startswith("press-01 could not be asked to stop: press-01 unreachable")
    assert "connection refused" in str(raised.value)
