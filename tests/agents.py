"""Real device agents for tests: artifacts, an artifact server, agent processes on loopback."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOKEN = "test-token-0123456789abcdef"


def make_tarball(path: Path, files: dict[str, str], links: dict[str, str] | None = None) -> str:
    """Write a .tar.gz with `files` (name -> text) and symlinks (name -> target); its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def module_files(name: str, version: str) -> dict[str, str]:
    return {
        f"{name}/VERSION": f"{name} {version}\n",
        f"{name}/bin/run.sh": f"#!/bin/sh\necho {name} {version}\n",
    }


class _QuietHandler(SimpleHTTPRequestHandler):
    delay_per_chunk = 0.0

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
        self.folder = folder
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

    def start(self, timeout: float = 20.0) -> AgentProcess:
        self.state.mkdir(parents=True, exist_ok=True)
        token_file = self.state.parent / f"{self.name}.token"
        token_file.write_text(self.token)
        port_file = self.state.parent / f"{self.name}.port"
        port_file.unlink(missing_ok=True)
        log = open(self.state.parent / f"{self.name}.log", "ab")  # noqa: SIM115 — kept by Popen
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "appupdater.agent",
                "--state",
                str(self.state),
                "--device",
                self.name,
                "--listen",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--port-file",
                str(port_file),
                "--token-file",
                str(token_file),
                "--insecure-http",
                *self.extra,
            ],
            stdout=log,
            stderr=log,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None:
                raise RuntimeError(f"agent {self.name} exited: {self.log_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"agent {self.name} did not start: {self.log_text()}")
            time.sleep(0.02)  # polling a file another process writes: no signal to wait on
        self.port = int(port_file.read_text())
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
        modules = self.state / "modules"
        return {
            link.parent.name: os.readlink(link)
            for link in modules.glob("*/current")
            if link.is_symlink()
        }


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
            made[(name, version)] = (file, make_tarball(folder / file, files))
    return made


def fleet_yaml(server_url: str, artifacts: dict, agents: list[AgentProcess], **sha_override) -> str:
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
    return "\n".join(lines) + "\n"


def seed_version_1(
    agent: AgentProcess, server_url: str, artifacts: dict, deployment: str = "seed"
) -> None:
    """Put line-monitor 1.0.0 on the agent directly, as if it had run it for months."""
    import json
    import urllib.request

    modules = [
        {
            "name": n,
            "version": v,
            "url": f"{server_url}/{artifacts[(n, v)][0]}",
            "sha256": artifacts[(n, v)][1],
        }
        for n, v in CATALOG_MODULES["1.0.0"]
    ]
    body = {"applications": [{"name": "line-monitor", "version": "1.0.0", "modules": modules}]}
    headers = {"Authorization": f"Bearer {agent.token}"}
    request = urllib.request.Request(
        f"{agent.endpoint}/v1/deployments/{deployment}",
        json.dumps(body).encode(),
        headers,
        method="PUT",
    )
    urllib.request.urlopen(request, timeout=10).read()
    seen = 0
    while True:  # long polls until it ends
        request = urllib.request.Request(
            f"{agent.endpoint}/v1/deployments/{deployment}?wait=2&log_after={seen}", headers=headers
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=10).read())
        seen = answer["log_total"]
        if answer["state"] != "running":
            assert answer["state"] == "succeeded", answer["message"]
            return
