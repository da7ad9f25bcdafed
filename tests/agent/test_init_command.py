"""`appupdater-agent init --state DIR`: the state folder (0700), a random token file (0600), a
self-signed TLS certificate and key (0600) unless --no-tls, the options the service reads
(agent.env), and what to enter in App Updater. It never overwrites without --force, and an
agent started with what it wrote serves HTTPS that the workstation's pinning accepts."""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from appupdater.agent import init_command
from appupdater.agent.startup import read_token
from appupdater.core.fleetchecks import FINGERPRINT, normalise_fingerprint
from appupdater.core.jobs import Connection
from appupdater.engine.gateways.base import DeviceTarget
from appupdater.engine.gateways.http import HttpGateway
from tests.agents import REPO

FILES = ("agent.token", "agent.pem", "agent.key", "agent.env")


def init(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "appupdater.agent", "init", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**(env or os.environ), "PYTHONPATH": str(REPO)},
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fingerprint_of(cert: Path) -> str:
    """The certificate's SHA-256 fingerprint, computed here from its DER bytes."""
    der = ssl.PEM_cert_to_DER_cert(cert.read_text(encoding="ascii"))
    return hashlib.sha256(der).hexdigest()


def printed_fingerprint(output: str) -> str:
    found = re.search(r"^\s*Fingerprint:\s*(\S+)\s*$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def options(state: Path) -> list[str]:
    """The agent options agent.env holds, split as systemd splits $APPUPDATER_AGENT_OPTIONS."""
    for line in (state / "agent.env").read_text(encoding="utf-8").splitlines():
        if line.startswith("APPUPDATER_AGENT_OPTIONS="):
            return line.partition("=")[2].strip('"').split()
    raise AssertionError("no APPUPDATER_AGENT_OPTIONS in agent.env")


def test_init_writes_the_files_with_their_modes_and_prints_the_fingerprint(tmp_path):
    state = tmp_path / "agent-state"
    result = init("--state", str(state), "--address", "10.0.3.7:8443", "--device", "press-07")
    assert result.returncode == 0, result.stderr
    assert mode(state) == 0o700
    assert mode(state / "agent.token") == 0o600 and mode(state / "agent.key") == 0o600
    token = (state / "agent.token").read_text(encoding="utf-8").strip()
    assert len(token) >= 40 and read_token(str(state / "agent.token")) == token
    assert token not in result.stdout  # shown where to read it, never printed

    printed = printed_fingerprint(result.stdout)
    assert FINGERPRINT.match(printed)  # what the Device connection dialog and fleet files take
    assert normalise_fingerprint(printed) == fingerprint_of(state / "agent.pem")
    assert "Endpoint:     https://10.0.3.7:8443" in result.stdout
    assert "Device connection…" in result.stdout
    # the fleet file snippet is YAML a fleet file takes as it is
    snippet = result.stdout.split("devices:", 1)[1].split("\n\n", 1)[0]
    device = yaml.safe_load("devices:" + snippet)["devices"][0]
    assert device["name"] == "press-07" and device["endpoint"] == "https://10.0.3.7:8443"
    assert device["fingerprint"] == printed

    assert options(state) == [
        "--listen", "0.0.0.0", "--port", "8443", "--device", "press-07",
        "--token-file", str(state / "agent.token"),
        "--cert", str(state / "agent.pem"), "--key", str(state / "agent.key"),
    ]  # fmt: skip
    # the certificate names the endpoint's address, so a CA-file trust (names checked) works too
    cert_text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(state / "agent.pem")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "IP Address:10.0.3.7" in cert_text and "CN = press-07" in cert_text


def test_init_refuses_to_overwrite_unless_forced(tmp_path):
    state = tmp_path / "state"
    assert init("--state", str(state), "--address", "127.0.0.1:8443").returncode == 0
    before = {name: (state / name).read_bytes() for name in FILES}
    again = init("--state", str(state), "--address", "127.0.0.1:8443")
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert str(state / "agent.token") in again.stderr and "--force" in again.stderr
    assert {name: (state / name).read_bytes() for name in FILES} == before

    forced = init("--state", str(state), "--address", "127.0.0.1:8443", "--force")
    assert forced.returncode == 0, forced.stderr
    after = {name: (state / name).read_bytes() for name in FILES}
    assert after["agent.token"] != before["agent.token"]
    assert after["agent.pem"] != before["agent.pem"]
    assert mode(state / "agent.token") == 0o600 and mode(state / "agent.key") == 0o600
    assert normalise_fingerprint(printed_fingerprint(forced.stdout)) == fingerprint_of(
        state / "agent.pem"
    )
    assert sorted(p.name for p in state.iterdir()) == sorted(FILES)  # no leftovers


def test_one_existing_file_is_enough_to_refuse_and_nothing_is_written(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    (state / "agent.key").write_text("a key someone keeps")
    result = init("--state", str(state))
    assert result.returncode == 1
    assert str(state / "agent.key") in result.stderr
    assert sorted(p.name for p in state.iterdir()) == ["agent.key"]


def test_no_tls_writes_a_token_only_and_says_the_endpoint_is_plain_http(tmp_path):
    state = tmp_path / "state"
    result = init("--state", str(state), "--no-tls", "--address", "192.168.1.20:9000")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in state.iterdir()) == ["agent.env", "agent.token"]
    assert "Endpoint:     http://192.168.1.20:9000" in result.stdout
    assert "Fingerprint" not in result.stdout and "unencrypted" in result.stdout
    assert "--insecure-http" in options(state) and "9000" in options(state)


def test_without_openssl_tls_is_refused_with_what_to_do_and_nothing_is_written(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    state = tmp_path / "state"
    result = init("--state", str(state), env={**os.environ, "PATH": str(empty)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "openssl" in result.stderr and "--no-tls" in result.stderr
    assert not state.exists()


@pytest.mark.parametrize(
    "address",
    ["10.0.3.7", "10.0.3.7:http", "10.0.3.7:70000", ":8443", "[fd00::7]:8443", "fd00::7:8443"],
)
def test_a_bad_address_is_refused(tmp_path, address):
    result = init("--state", str(tmp_path / "state"), "--address", address)
    assert result.returncode == 2 and "HOST:PORT" in result.stderr
    assert not (tmp_path / "state").exists()


def test_an_agent_started_with_what_init_wrote_serves_https_the_workstation_pins(tmp_path):
    state = tmp_path / "state"
    result = init("--state", str(state), "--address", "127.0.0.1:8443", "--device", "press-07")
    assert result.returncode == 0, result.stderr
    port_file = tmp_path / "port"
    # as the unit starts it, on a free loopback port instead of 8443 (later options win)
    command = [sys.executable, "-m", "appupdater.agent", "--state", str(state), *options(state)]
    command += ["--listen", "127.0.0.1", "--port", "0", "--port-file", str(port_file)]
    log = (tmp_path / "agent.log").open("w")
    agent = subprocess.Popen(
        command, stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            assert agent.poll() is None, (tmp_path / "agent.log").read_text()
            assert time.monotonic() < deadline, "the agent did not start"
            time.sleep(0.05)
        endpoint = f"https://127.0.0.1:{port_file.read_text()}"
        token = (state / "agent.token").read_text(encoding="utf-8").strip()
        fingerprint = normalise_fingerprint(printed_fingerprint(result.stdout))
        gateway = HttpGateway(timeout=10)

        def probe(**trust: str):
            connection = Connection(endpoint, token, **trust)
            return gateway.probe(DeviceTarget("press-07", {}, connection))

        assert probe(fingerprint=fingerprint).online
        assert probe(ca_file=str(state / "agent.pem")).online  # its name matches too
        wrong = probe(fingerprint="0" * 64)
        assert not wrong.online and "pinned fingerprint" in wrong.message
    finally:
        agent.terminate()
        agent.wait(10)
        log.close()


def test_a_folder_or_name_the_service_options_cannot_hold_is_refused(tmp_path):
    state = tmp_path / "my agent"
    result = init("--state", str(state), "--no-tls")
    assert result.returncode == 1 and "spaces" in result.stderr and "Traceback" not in result.stderr
    assert not state.exists()
    named = init("--state", str(tmp_path / "state"), "--no-tls", "--device", "press 07")
    assert named.returncode == 1 and "'press 07'" in named.stderr
    assert not (tmp_path / "state").exists()


def test_the_install_guide_names_every_option_and_file_of_init():
    guide = (REPO / "docs" / "agent.md").read_text(encoding="utf-8")
    section = guide.split("### `appupdater-agent init`", 1)[1].split("\n### ", 1)[0]
    for action in init_command.build_parser()._actions:
        for option in action.option_strings:
            assert option in section or option in ("-h", "--help"), option
    for name in FILES:
        assert f"\n{name} " in section, name
    for heading in ("## Install on a device", "### Configure", "### Upgrade", "### Uninstall"):
        assert heading in guide, heading
