"""Real device agents for tests: artifacts, an artifact server, agent processes on loopback."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from appupdater.agent.activation import Modules
from appupdater.agent.protocol import AppRef, Configuration, DeploymentState, ModuleRef
from appupdater.core.jobs import Connection
from appupdater.demo.agents import module_files, put_and_wait, spawn_agent, write_tarball
from appupdater.engine.gateways.agent_client import AgentClient

REPO = Path(__file__).resolve().parent.parent
TOKEN = "test-token-0123456789abcdef"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def copyfile(self, source, outputfile):
        if not self.server.delay:
            return super().copyfile(source, outputfile)
        while chunk := source.read(4096):  # a slow link: the agent sees the download drag on
            outputfile.write(chunk)
            time.sleep(self.server.delay)
        return None


class ArtifactServer:
    """Serves a folder over HTTP on loopback; `delay` seconds per 4 KiB slows it down."""

    def __init__(self, folder: Path):
        self.server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder))
        )
        self.server.daemon_threads = True
        self.server.delay = 0.0
        # an agent killed mid-download breaks its connection: expected here, not news
        self.server.handle_error = lambda request, address: None
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class AgentProcess:
    """One `python -m appupdater.agent` on loopback, plain HTTP, with its own state folder."""

    name: str
    state: Path
    token: str = TOKEN
    port: int = 0
    process: subprocess.Popen | None = None
    extra: tuple[str, ...] = ()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> AgentClient:
        return AgentClient(self.name, Connection(self.endpoint, self.token), timeout=30)

    def start(self) -> AgentProcess:
        """Start (or restart: same state folder and, once known, the same port)."""
        self.process, self.port = spawn_agent(
            self.state,
            self.name,
            self.token,
            port=self.port,
            extra=self.extra,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        path = self.state.parent / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def active(self) -> dict[str, str]:
        """module -> active version, read from the links on disk."""
        return Modules(self.state / "modules").active()


CATALOG_MODULES = {
    "1.0.0": [("collector", "1.0.0"), ("dashboard", "1.0.0")],
    "2.0.0": [("collector", "2.0.0"), ("alerts", "1.0.0")],
}


def build_artifacts(folder: Path, padding: int = 64 * 1024) -> dict[tuple[str, str], tuple]:
    """The modules of line-monitor 1.0.0 and 2.0.0 as tarballs: (module, version) -> (file
    name, sha256). Each carries `padding` bytes of noise, so a throttled server is slow."""
    made = {}
    for modules in CATALOG_MODULES.values():
        for name, version in modules:
            files = module_files(name, version)
            files[f"{name}/data.bin"] = os.urandom(padding).hex()[:padding]
            file = f"{name}-{version}.tar.gz"
            made[(name, version)] = (file, write_tarball(folder / file, files))
    return made


def fleet_yaml(
    server_url: str,
    artifacts: dict,
    agents: list[AgentProcess],
    simulated: tuple[str, ...] = (),
    **sha_override,
) -> str:
    """line-monitor 1.0.0 and 2.0.0 with artifacts on the test server; the agents as devices
    on 1.0.0, and `simulated` devices (no endpoint) beside them."""
    lines = ["applications:", "  - name: line-monitor", "    versions:"]
    for version, modules in CATALOG_MODULES.items():
        lines += [f'      - version: "{version}"', "        modules:"]
        for name, module_version in modules:
            file, sha = artifacts[(name, module_version)]
            sha = sha_override.get(name, sha)
            lines.append(
                f'          - {{name: {name}, version: "{module_version}", '
                f"artifact: {{url: '{server_url}/{file}', sha256: '{sha}'}}}}"
            )
    lines.append("devices:")
    for agent in agents:
        lines.append(
            f"  - {{name: {agent.name}, endpoint: '{agent.endpoint}', token: '{agent.token}', "
            "applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}"
        )
    for name in simulated:
        lines.append(
            f"  - {{name: {name}, labels: {{sim.latency_s: 0.1}}, "
            "applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}"
        )
    return "\n".join(lines) + "\n"


def agent_configuration(server_url: str, artifacts: dict, version: str) -> Configuration:
    """line-monitor `version` as an agent takes it, artifacts from the test server."""
    modules = tuple(
        ModuleRef(n, v, f"{server_url}/{artifacts[(n, v)][0]}", artifacts[(n, v)][1])
        for n, v in CATALOG_MODULES[version]
    )
    return Configuration((AppRef("line-monitor", version, modules),))


def seed_version_1(
    agent: AgentProcess, server_url: str, artifacts: dict, deployment: str = "seed"
) -> None:
    """Put line-monitor 1.0.0 on the agent directly, as if it had run it for months."""
    with agent.client() as client:
        answer = put_and_wait(
            client, deployment, agent_configuration(server_url, artifacts, "1.0.0")
        )
    assert answer.state is DeploymentState.SUCCEEDED, answer.message


def make_certificate(folder: Path, *, name: str = "press-07", ip: str | None = None):
    """A self-signed TLS certificate and its key (unencrypted PEM) in `folder`, for device
    `name`; with `ip`, valid for that address too (what a client checking names needs)."""
    cert, key = folder / "agent.pem", folder / "agent.key"
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"]
    command += ["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={name}"]
    if ip is not None:
        command += ["-addext", f"subjectAltName=IP:{ip}"]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return cert, key
