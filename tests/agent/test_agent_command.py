"""The agent's command line, run as a process: what it refuses to start with (one line on
stderr, exit 1, no traceback), the warning about plain HTTP on the network, and the limits it
hands to every download and unpack."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from appupdater.agent import fetching as agent_fetching
from appupdater.agent.limits import Limits
from appupdater.agent.state import Agent
from appupdater.demo.agents import put_and_wait
from tests.agent.test_agent import V1, config, finished
from tests.agent.test_agent import artifacts as artifacts  # a fixture
from tests.agents import (
    REPO,
    TOKEN,
    AgentProcess,
    ArtifactServer,
    agent_configuration,
    build_artifacts,
    make_certificate,
)


def run_agent(tmp_path: Path, *args: str, token: str | None = TOKEN) -> subprocess.CompletedProcess:
    """The agent with `args` after a valid state folder and plain HTTP on loopback, expected
    to stop before serving; with `token`, a token file of mode 0600 holding it comes first."""
    before: list[str] = ["--state", str(tmp_path / "state"), "--listen", "127.0.0.1"]
    before += ["--port", "0", "--insecure-http"]
    if token is not None:
        token_file = tmp_path / "agent.token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        before += ["--token-file", str(token_file)]
    return subprocess.run(
        [sys.executable, "-m", "appupdater.agent", *before, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def refused(result: subprocess.CompletedProcess) -> str:
    """The one line a refused start prints."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("appupdater-agent: "), lines[0]
    return lines[0]


@pytest.fixture
def certificate(tmp_path):
    return make_certificate(tmp_path)


def test_a_token_file_others_can_read_is_refused_with_the_fix(tmp_path):
    token_file = tmp_path / "open.token"
    token_file.write_text(TOKEN)
    for mode in (0o644, 0o640, 0o604, 0o660):
        token_file.chmod(mode)
        line = refused(run_agent(tmp_path, "--token-file", str(token_file)))
        assert str(token_file) in line
        assert f"{mode:04o}" in line
        assert f"chmod 600 {token_file}" in line


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda path: None, "does not exist"),
        (lambda path: path.mkdir(mode=0o700), "is a directory"),
        (lambda path: path.write_bytes(b"\xff\xfe-not-text-at-all-0123456789"), "UTF-8"),
        (lambda path: path.write_text("short"), "at least 16 characters"),
    ],
    ids=["missing", "a folder", "not text", "too short"],
)
def test_a_token_file_that_cannot_be_used_is_named(tmp_path, make, words):
    token_file = tmp_path / "bad.token"
    make(token_file)
    if token_file.is_file():
        token_file.chmod(0o600)
    line = refused(run_agent(tmp_path, "--token-file", str(token_file)))
    assert str(token_file) in line
    assert words in line


def test_bad_certificate_or_key_files_are_named(tmp_path, certificate):
    cert, key = certificate
    garbage = tmp_path / "garbage.pem"
    garbage.write_text(
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"
    )
    other_key = tmp_path / "other.key"
    subprocess.run(
        [
            *("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-out", str(other_key)),
        ],
        check=True,
        capture_output=True,
    )
    missing = tmp_path / "missing.pem"
    cases = [
        ((missing, key), [str(missing), "does not exist"]),
        ((cert, missing), [str(missing), "does not exist"]),
        ((garbage, key), [str(garbage), "not a PEM certificate"]),
        ((cert, garbage), [str(garbage), "not a PEM private key"]),
        ((cert, other_key), [str(other_key), "does not belong to", str(cert)]),
    ]
    for (cert_file, key_file), words in cases:
        line = refused(run_agent(tmp_path, "--cert", str(cert_file), "--key", str(key_file)))
        for word in words:
            assert word in line, (cert_file, key_file, line)
    line = refused(run_agent(tmp_path, "--cert", str(cert)))
    assert "--cert and --key go together" in line


def test_a_state_folder_that_cannot_be_made_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = refused(run_agent(tmp_path, "--state", str(blocker / "state")))
    assert str(blocker) in line


@pytest.mark.parametrize("text", ["{not json", "[]", '{"deployments": [{"id": 1}]}', "\udcff"])
def test_a_damaged_state_file_is_named(tmp_path, text):
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.json").write_text(text, errors="surrogateescape")
    line = refused(run_agent(tmp_path))
    assert str(state / "state.json") in line
    assert "damaged" in line


def test_plain_http_on_the_network_is_warned_about(tmp_path):
    outside = AgentProcess("press-07", tmp_path / "outside", extra=("--listen", "0.0.0.0"))
    inside = AgentProcess("press-08", tmp_path / "inside")
    try:
        outside.start()
        inside.start()
    finally:
        outside.stop()
        inside.stop()
    warnings = [line for line in outside.log_text().splitlines() if "WARNING" in line]
    assert len(warnings) == 1, outside.log_text()
    assert "0.0.0.0" in warnings[0]
    assert "unencrypted" in warnings[0] and "token" in warnings[0]
    assert "--cert and --key" in warnings[0]
    assert "WARNING" not in inside.log_text()


def test_downloads_and_unpacking_get_the_limits(tmp_path, monkeypatch, artifacts):
    """The wiring alone: what the agent hands to files.py (whose checks test_download.py and
    test_unpack.py test), with stand-ins that copy and unpack without checking."""
    seen: list[tuple[str, dict]] = []
    real_unpack = agent_fetching.unpack

    def download(url, sha256, target, **options):
        seen.append(("download", options))
        shutil.copyfile(tmp_path / "artifacts" / Path(urlsplit(url).path).name, target)

    def unpack(archive, destination, **options):
        seen.append(("unpack", options))
        return real_unpack(archive, destination, what=options["what"])

    monkeypatch.setattr(agent_fetching, "download", download)
    monkeypatch.setattr(agent_fetching, "unpack", unpack)
    folder = tmp_path / "artifacts"
    limits = Limits(download_bytes=5 << 20, unpacked_bytes=7 << 20, artifact_folder=folder)
    agent = Agent(tmp_path / "device", "press-01", limits=limits)
    agent.put("d1", config(artifacts, "1.0.0", V1))
    assert finished(agent, "d1")["state"] == "succeeded"
    assert [kind for kind, _ in seen] == ["download", "unpack", "download", "unpack"]
    for kind, options in seen:
        assert options["max_bytes"] == (5 << 20 if kind == "download" else 7 << 20)
        if kind == "download":
            assert options["artifact_folder"] == folder


@pytest.mark.integration
def test_the_command_line_limits_reach_the_files(tmp_path):
    """Needs files.py's checks (branch i13-agentfiles) to pass."""
    folder = tmp_path / "artifacts"
    made = build_artifacts(folder, padding=256 * 1024)
    server = ArtifactServer(folder)
    agents = {
        "small-download": ("--max-download-mb", "0.05"),
        "small-unpacked": ("--max-unpacked-mb", "0.1"),
        "no-folder": (),
        "folder": ("--artifact-folder", str(folder)),
    }
    processes = {
        name: AgentProcess(name, tmp_path / name, extra=extra).start()
        for name, extra in agents.items()
    }
    try:
        answers = {}
        for name, process in processes.items():
            base = folder.as_uri() if name in ("no-folder", "folder") else server.url
            with process.client() as client:
                answers[name] = put_and_wait(client, "d1", agent_configuration(base, made, "1.0.0"))
    finally:
        for process in processes.values():
            process.stop()
        server.close()
    for name in ("small-download", "small-unpacked", "no-folder"):
        assert answers[name].state == "failed", (name, answers[name].message)
        assert not processes[name].active(), name
    assert answers["folder"].state == "succeeded", answers["folder"].message
