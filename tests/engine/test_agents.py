"""The engine deploying through real agent processes on loopback, and every way that can go
wrong: each ends in a clear message and a consistent state on both sides."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from appupdater.core.jobs import Connection
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.engine.build import build_engine
from appupdater.engine.engine import Engine
from appupdater.engine.gateways.base import DeviceTarget
from appupdater.engine.gateways.http import HttpGateway
from appupdater.engine.settings import EngineSettings, GatewaySettings
from appupdater.store.models import AppVersion, Deployment, DeploymentEvent, Device, DeviceApp
from tests.agents import (
    AgentProcess,
    ArtifactServer,
    build_artifacts,
    fleet_yaml,
    seed_version_1,
)
from tests.helpers import load_yaml

pytestmark = pytest.mark.integration

WAIT = 30_000
V1 = {"collector": "1.0.0", "dashboard": "1.0.0"}
V2 = {"collector": "2.0.0", "alerts": "1.0.0"}


class World:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.artifacts = build_artifacts(tmp_path / "artifacts")
        self.server = ArtifactServer(tmp_path / "artifacts")
        self.agents: dict[str, AgentProcess] = {}

    def agent(self, name: str, seed: bool = True) -> AgentProcess:
        agent = AgentProcess(name, self.tmp / "agents" / name).start()
        self.agents[name] = agent
        if seed:
            seed_version_1(agent, self.server.url, self.artifacts)
        return agent

    def load(self, agents, **sha_override) -> None:
        load_yaml(fleet_yaml(self.server.url, self.artifacts, agents, **sha_override))

    def close(self) -> None:
        for agent in self.agents.values():
            agent.stop()
        self.server.close()


@pytest.fixture
def world(tmp_path, db):
    world = World(tmp_path)
    yield world
    world.close()


@pytest.fixture
def make_engine(qtbot, db):
    engines = []

    def make(**overrides) -> Engine:
        settings = dict(
            tick_ms=40,
            backoff=timedelta(milliseconds=200),
            progress_interval=0.02,
            max_attempts=2,
            probe_interval=None,
        )
        grace = overrides.pop("reconnect_grace", 15)
        settings.update(overrides)
        gateways = GatewaySettings(agent_timeout=3, poll_wait=0.5, reconnect_grace=grace)
        engine = build_engine(EngineSettings(**settings, gateways=gateways))
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        assert engine.stop(interrupt=True, msecs=30_000)


def approve(names) -> int:
    ids = [Device.get(Device.name == n).id for n in names]
    plan = plan_update([Selection("line-monitor", "2.0.0")])
    return create_run(plan, approved_by="test", devices=ids)


def the(name: str) -> Deployment:
    return Deployment.get(Deployment.device == Device.get(Device.name == name).id)


def ended(name: str) -> bool:
    rows = Deployment.select().where(Deployment.device == Device.get(Device.name == name).id)
    return any(d.state in ("succeeded", "failed", "cancelled") for d in rows)


def log_of(name: str) -> list[str]:
    if not Deployment.select().where(Deployment.device == Device.get(Device.name == name).id):
        return []  # not created yet
    return [
        e.message
        for e in DeploymentEvent.select()
        .where(DeploymentEvent.deployment == the(name).id)
        .order_by(DeploymentEvent.at, DeploymentEvent.id)
    ]


def installed(name: str) -> str:
    row = (
        DeviceApp.select(AppVersion.version)
        .join(AppVersion, on=DeviceApp.installed == AppVersion.id)
        .where(DeviceApp.device == Device.get(Device.name == name).id)
        .tuples()
        .first()
    )
    return row[0]


def agent_deployment(agent: AgentProcess) -> dict:
    state = json.loads((agent.state / "state.json").read_text())
    return next(d for d in state["deployments"] if d["id"].startswith("r"))


def test_rollout_through_agents_and_probe(qtbot, world, make_engine):
    agents = [world.agent(f"press-0{i}") for i in range(1, 4)]
    world.load(agents)
    approve([a.name for a in agents])
    engine = make_engine()
    engine.start()
    qtbot.waitUntil(lambda: all(ended(a.name) for a in agents), timeout=WAIT)
    for agent in agents:
        assert the(agent.name).state == "succeeded", log_of(agent.name)
        assert agent.active() == V2
        assert not (agent.state / "modules" / "dashboard" / "current").exists()
        assert installed(agent.name) == "2.0.0"
        log = log_of(agent.name)
        assert "info: downloading alerts 1.0.0" in log
        assert "info: deactivated dashboard 1.0.0 (kept on disk)" in log
        assert log[-1] == f"deployed to {agent.name}: active: line-monitor 2.0.0"
    # press-01 falls back to 1.0.0 behind the workstation's back: a probe notices
    seed_version_1(agents[0], world.server.url, world.artifacts, "manual-fallback")
    engine.probe_now()
    qtbot.waitUntil(lambda: installed("press-01") == "1.0.0", timeout=WAIT)
    assert installed("press-02") == "2.0.0"
    assert Device.get(Device.name == "press-01").last_seen_at is not None


def test_agent_down_retries_then_fails(qtbot, world, make_engine):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ghost = AgentProcess("ghost-01", world.tmp / "ghost", port=port)
    world.load([ghost])
    approve(["ghost-01"])
    make_engine().start()
    qtbot.waitUntil(lambda: ended("ghost-01"), timeout=WAIT)
    d = the("ghost-01")
    assert d.state == "failed" and d.attempts == 2
    expected = f"ghost-01 unreachable at http://127.0.0.1:{port} (connection refused)"
    assert d.last_message == f"{expected} (gave up after 2 attempts)"
    assert any(m.startswith(f"{expected}; retrying in") for m in log_of("ghost-01"))


def test_wrong_token_is_refused_once_and_not_retried(qtbot, world, make_engine):
    agent = world.agent("press-01")
    liar = AgentProcess(
        "press-01", agent.state, token="not-the-right-token-at-all", port=agent.port
    )
    world.load([liar])
    approve(["press-01"])
    make_engine().start()
    qtbot.waitUntil(lambda: ended("press-01"), timeout=WAIT)
    d = the("press-01")
    assert (d.state, d.attempts, d.last_message) == ("failed", 1, "press-01 refused the token")
    assert agent.active() == V1
    assert "not-the-right-token" not in agent.log_text()


def test_hash_mismatch_rolls_back(qtbot, world, make_engine):
    agent = world.agent("press-01")
    world.load([agent], alerts="ab" * 32)
    approve(["press-01"])
    make_engine().start()
    qtbot.waitUntil(lambda: ended("press-01"), timeout=WAIT)
    d = the("press-01")
    assert d.state == "failed" and d.attempts == 1  # a wrong file does not get better
    assert "hash mismatch for alerts 1.0.0" in d.last_message
    assert "the device runs what it ran before" in d.last_message
    assert agent.active() == V1 and installed("press-01") == "1.0.0"
    assert agent_deployment(agent)["state"] == "failed"


def test_agent_killed_mid_deployment_and_restarted(qtbot, world, make_engine):
    agent = world.agent("press-01")
    world.load([agent])
    world.server.server.delay = 0.1  # ~1.6 s per module: time to kill it while it downloads
    approve(["press-01"])
    make_engine().start()
    qtbot.waitUntil(lambda: "info: downloading collector 2.0.0" in log_of("press-01"), timeout=WAIT)
    agent.kill()
    world.server.server.delay = 0.0
    agent.start()  # same state folder, same port
    qtbot.waitUntil(lambda: ended("press-01"), timeout=WAIT)
    d = the("press-01")
    assert d.state == "succeeded", log_of("press-01")
    assert d.attempts == 1  # the gateway waited for the agent instead of failing the attempt
    assert any("the agent restarted during this deployment" in m for m in log_of("press-01"))
    assert agent.active() == V2
    assert not list((agent.state / "downloads").glob("*.part"))


def test_slow_agent_times_out_and_is_rolled_back(qtbot, world, make_engine):
    agent = world.agent("press-01")
    world.load([agent])
    world.server.server.delay = 0.5  # far slower than the timeout allows
    approve(["press-01"])
    make_engine(timeout=timedelta(seconds=2), max_attempts=1).start()
    qtbot.waitUntil(lambda: ended("press-01"), timeout=WAIT)
    d = the("press-01")
    assert d.state == "failed"
    assert d.last_message.startswith("press-01 did not finish within")
    assert "(timeout)" in d.last_message
    assert agent_deployment(agent)["state"] == "cancelled"
    assert agent.active() == V1


def test_cancel_during_download(qtbot, world, make_engine):
    agent = world.agent("press-01")
    world.load([agent])
    world.server.server.delay = 0.3
    approve(["press-01"])
    engine = make_engine()
    engine.start()
    qtbot.waitUntil(lambda: "info: downloading collector 2.0.0" in log_of("press-01"), timeout=WAIT)
    engine.cancel([the("press-01").id])
    qtbot.waitUntil(lambda: ended("press-01"), timeout=WAIT)
    assert the("press-01").state == "cancelled"
    qtbot.waitUntil(lambda: agent_deployment(agent)["state"] == "cancelled", timeout=WAIT)
    assert agent.active() == V1 and installed("press-01") == "1.0.0"
    assert not list((agent.state / "downloads").glob("*.part"))
    assert not (agent.state / "modules" / "collector" / "2.0.0").exists()


class _Misbehaving(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _answer


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((500, b'{"error": "disk on fire"}'), "press-09 answered HTTP 500: disk on fire"),
        ((200, b"<html>surprise</html>"), "press-09 sent an answer that is not JSON (HTTP 200"),
    ],
    ids=["http-500", "garbage"],
)
def test_a_misbehaving_device_fails_with_what_it_did(qtbot, world, make_engine, answer, message):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
    server.answer = answer
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        fake = AgentProcess("press-09", world.tmp / "fake", port=server.server_address[1])
        world.load([fake])
        approve(["press-09"])
        make_engine().start()
        qtbot.waitUntil(lambda: ended("press-09"), timeout=WAIT)
        d = the("press-09")
        assert d.state == "failed" and d.attempts == 2  # worth a retry, then given up
        assert message in d.last_message
        # the probe says the same, in the same words
        gateway = HttpGateway(timeout=3)
        result = gateway.probe(DeviceTarget("press-09", {}, Connection(fake.endpoint, "x" * 16)))
        assert not result.online and message in result.message
    finally:
        server.shutdown()
        server.server_close()


def test_a_retry_after_the_artifact_was_corrected_deploys_the_corrected_one(
    qtbot, world, make_engine
):
    """A wrong checksum in the fleet file fails the deployment; the administrator imports the
    corrected file and retries. The retry goes under the same agent deployment id with the new
    configuration: the agent runs it (it used to answer 409, recorded as 'busy')."""
    agent = world.agent("press-01")
    world.load([agent], alerts="ab" * 32)
    approve(["press-01"])
    engine = make_engine()
    engine.start()
    qtbot.waitUntil(lambda: ended("press-01"), timeout=WAIT)
    assert the("press-01").state == "failed"
    world.load([agent])  # the corrected checksum
    assert engine.retry([the("press-01").id]) == [the("press-01").id]
    qtbot.waitUntil(lambda: the("press-01").state in ("succeeded", "failed"), timeout=WAIT)
    d = the("press-01")
    assert d.state == "succeeded", d.last_message
    assert agent_deployment(agent)["state"] == "succeeded"
    assert agent_deployment(agent)["attempts"] == 2
    assert agent.active() == V2 and installed("press-01") == "2.0.0"
    assert not any("busy" in m for m in log_of("press-01"))
