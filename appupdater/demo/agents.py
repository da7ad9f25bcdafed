"""A demo with real device agents on this machine: `appupdater demo --agents N`.

Builds the artifacts of a small catalog (line-monitor 1.0.0, 1.1.0, 2.0.0) as tarballs, starts
N agents on loopback (plain HTTP, a random token each), puts 1.0.0 on every one of them, and
imports a fleet file that points at them. The agents run until the command is interrupted;
meanwhile `appupdater` (in another terminal) deploys to them for real.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from appupdater.agent.activation import Modules
from appupdater.agent.protocol import (
    AppRef,
    Configuration,
    DeploymentAnswer,
    DeploymentState,
    ModuleRef,
    run_deployment_id,
)
from appupdater.core.jobs import Connection
from appupdater.engine.gateways.agent_client import AgentClient

CATALOG = {
    "1.0.0": [("collector", "1.0.0"), ("dashboard", "1.0.0")],
    "1.1.0": [("collector", "1.1.0"), ("dashboard", "1.0.0")],
    "2.0.0": [("collector", "2.0.0"), ("alerts", "1.0.0"), ("web-ui", "2.0.0")],
}


@dataclass
class DemoAgent:
    name: str
    port: int
    token: str
    process: subprocess.Popen

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> AgentClient:
        return AgentClient(self.name, Connection(self.endpoint, self.token), timeout=30)


@dataclass(frozen=True)
class AgentOnDisk:
    """What an agent's state folder says, read by whoever started it (checks, tests)."""

    active: dict[str, str]  # module -> active version, from the links
    installed: dict[str, str]  # application -> version, from state.json
    deployments: dict[str, DeploymentState]  # deployment id -> its state, from state.json

    def succeeded(self, run_id: int, deployment_id: int) -> bool:
        """Whether the agent ran the workstation's deployment `deployment_id` of `run_id` to
        success."""
        pushed = run_deployment_id(run_id, deployment_id)
        return self.deployments.get(pushed) is DeploymentState.SUCCEEDED


def read_agent_state(state: Path) -> AgentOnDisk:
    record = json.loads((state / "state.json").read_text(encoding="utf-8"))
    installed = {
        name: str(app.get("version"))
        for name, app in (record.get("installed") or {}).items()
        if isinstance(app, dict)
    }
    deployments = {
        str(d["id"]): DeploymentState(d["state"]) for d in record.get("deployments") or []
    }
    return AgentOnDisk(Modules(state / "modules").active(), installed, deployments)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (it holds tokens), 0600 before any byte is in it:
    created so, or an existing file restricted before it is truncated and written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(fd, 0o600)
        file.truncate()
        file.write(text)


def write_tarball(path: Path, files: dict[str, str], links: dict[str, str] | None = None) -> str:
    """Write a .tar.gz of `files` (member name -> text) and symlinks (name -> target); returns
    its SHA-256, as a fleet file's artifact wants it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
        for member, target in (links or {}).items():
            info = tarfile.TarInfo(member)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def module_files(name: str, version: str) -> dict[str, str]:
    """What a demo module's tarball holds."""
    return {
        f"{name}/VERSION": f"{name} {version}\n",
        f"{name}/bin/run.sh": f"#!/bin/sh\necho '{name} {version} running'\n",
    }


def build_artifact(folder: Path, name: str, version: str) -> tuple[str, str]:
    """A module tarball: (file URL, SHA-256)."""
    path = folder / f"{name}-{version}.tar.gz"
    return path.as_uri(), write_tarball(path, module_files(name, version))


def agent_command() -> list[str]:
    """How to start the agent from here: the `appupdater-agent` beside a frozen App Updater
    (which cannot run `-m`), else this Python with `-m appupdater.agent`."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).with_name("appupdater-agent"))]
    return [sys.executable, "-m", "appupdater.agent"]


def spawn_agent(
    state: Path,
    name: str,
    token: str,
    *,
    port: int = 0,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 20.0,
) -> tuple[subprocess.Popen, int]:
    """Start the agent (`agent_command`) on loopback with its state in `state`; its token, port
    and log files sit beside that folder. Returns the process and the port it listens on."""
    state.mkdir(parents=True, exist_ok=True)
    token_file = state.parent / f"{name}.token"
    write_private(token_file, token)
    port_file = state.parent / f"{name}.port"
    port_file.unlink(missing_ok=True)
    log_file = state.parent / f"{name}.log"
    with open(log_file, "ab") as log:  # the process keeps its own copy of the descriptor
        process = subprocess.Popen(
            [
                *agent_command(),
                "--state",
                str(state),
                "--device",
                name,
                "--listen",
                "127.0.0.1",
                "--port",
                str(port),
                "--port-file",
                str(port_file),
                "--token-file",
                str(token_file),
                "--insecure-http",
                *extra,
            ],
            stdout=log,
            stderr=log,
            env=env,
        )
    deadline = time.monotonic() + timeout
    while not (port_file.exists() and port_file.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(
                f"agent {name} did not start: {log_file.read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.05)  # another process writes the file: nothing to wait on but the file
    return process, int(port_file.read_text())


def start_agent(folder: Path, name: str, token: str) -> DemoAgent:
    """A demo agent; it may read the demo's file:// artifacts from `folder`/artifacts."""
    artifacts = ("--artifact-folder", str(folder / "artifacts"))
    process, port = spawn_agent(folder / "devices" / name, name, token, extra=artifacts)
    return DemoAgent(name, port, token, process)


def put_and_wait(
    client: AgentClient, deployment_id: str, configuration: Configuration
) -> DeploymentAnswer:
    """PUT a deployment to an agent and long-poll it until it ends; its final answer. Errors
    are the client's `GatewayError`s."""
    answer = client.put(deployment_id, configuration)
    while answer.state is None or not answer.state.final:
        answer = client.poll(deployment_id, answer.log_total, wait=2)
    return answer


def start_demo(
    folder: Path, count: int, *, simulated: int = 0, simulated_latency: float = 1.0
) -> tuple[list[DemoAgent], Path]:
    """Start `count` agents running line-monitor 1.0.0; returns them and the fleet file, in
    which `simulated` devices without an endpoint (sim-01 …) stand beside them."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # tokens and fleet file with tokens
    artifacts_dir = folder / "artifacts"
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    artifacts = {
        module: build_artifact(artifacts_dir, *module)
        for modules in CATALOG.values()
        for module in modules
    }
    agents = []
    try:
        for i in range(1, count + 1):
            agents.append(start_agent(folder, f"agent-{i:02d}", secrets.token_urlsafe(24)))
        modules = tuple(ModuleRef(n, v, *artifacts[(n, v)]) for n, v in CATALOG["1.0.0"])
        first = Configuration((AppRef("line-monitor", "1.0.0", modules),))
        for agent in agents:
            with agent.client() as client:
                answer = put_and_wait(client, "demo-initial", first)
            if answer.state is not DeploymentState.SUCCEEDED:
                raise RuntimeError(f"{agent.name}: {answer.message}")
    except BaseException:
        stop_demo(agents)
        raise
    document = {
        "applications": [
            {
                "name": "line-monitor",
                "description": "Production line monitoring (real agents on this machine)",
                "versions": [
                    {
                        "version": version,
                        "modules": [
                            {
                                "name": n,
                                "version": v,
                                "artifact": {
                                    "url": artifacts[(n, v)][0],
                                    "sha256": artifacts[(n, v)][1],
                                },
                            }
                            for n, v in modules
                        ],
                    }
                    for version, modules in CATALOG.items()
                ],
            }
        ],
        "devices": [
            {
                "name": agent.name,
                "site": "This machine",
                "endpoint": agent.endpoint,
                "token": agent.token,
                "applications": {"line-monitor": {"configured": "1.0.0", "installed": "1.0.0"}},
            }
            for agent in agents
        ]
        + [
            {
                "name": f"sim-{i:02d}",
                "site": "Simulated",
                "labels": {"sim.latency_s": simulated_latency},
                "applications": {"line-monitor": {"configured": "1.0.0", "installed": "1.0.0"}},
            }
            for i in range(1, simulated + 1)
        ],
    }
    fleet = folder / "fleet-with-tokens.yaml"
    write_private(fleet, yaml.safe_dump(document, sort_keys=False))
    return agents, fleet


def stop_demo(agents: list[DemoAgent]) -> None:
    for agent in agents:
        if agent.process.poll() is None:
            agent.process.terminate()
    for agent in agents:
        try:
            agent.process.wait(10)
        except subprocess.TimeoutExpired:
            agent.process.kill()
