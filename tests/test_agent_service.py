"""The device agent as a systemd service (packaging/agent/): the unit runs the agent as its own
user with its state under /var/lib/appupdater-agent, restarts it on failure, hardens it without
taking from hooks what they need (to run programs from the state folder), and systemd itself
accepts every line; the install script puts a standard-library-only agent in place."""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[1] / "packaging" / "agent"
UNIT = FOLDER / "appupdater-agent.service"
INSTALL = FOLDER / "install.sh"
SYSUSERS = FOLDER / "appupdater-agent.sysusers"
PROGRAM = "/opt/appupdater-agent/bin/appupdater-agent"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_runs_the_agent_as_its_own_user_with_what_init_wrote():
    service = unit()["Service"]
    assert service["User"] == service["Group"] == "appupdater-agent"
    assert service["StateDirectory"] == "appupdater-agent"
    assert service["StateDirectoryMode"] == "0700"
    # `appupdater-agent init --state /var/lib/appupdater-agent` writes agent.env: the options
    # naming its token file and certificate (or --insecure-http), the address and the port
    assert service["EnvironmentFile"] == "%S/appupdater-agent/agent.env"
    assert service["ExecStart"] == (
        f"{PROGRAM} --state %S/appupdater-agent $APPUPDATER_AGENT_OPTIONS"
    )
    assert service["Restart"] == "on-failure" and float(service["RestartSec"]) > 0
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_the_unit_is_hardened_but_hooks_can_run_programs_from_the_state_folder():
    service = unit()["Service"]
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] == "yes"
    assert service["PrivateTmp"] == "yes"
    assert service["ReadWritePaths"] == "%S/appupdater-agent"
    assert service["CapabilityBoundingSet"] == "" and service["UMask"] == "0077"
    # what would stop a hook (or the module it starts) from running: never set
    for key in ("NoExecPaths", "MemoryDenyWriteExecute", "SystemCallFilter", "InaccessiblePaths"):
        assert key not in service, key
    # the modules a start hook launched keep running while the agent restarts or is upgraded
    assert service["KillMode"] == "process"
    text = UNIT.read_text(encoding="utf-8")
    for relaxed in ("MemoryDenyWriteExecute", "SystemCallFilter", "KillMode"):
        assert f"# {relaxed}" in text or f"{relaxed}:" in text, f"say why {relaxed} is relaxed"


def test_systemd_accepts_every_line_of_the_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("needs systemd-analyze (Debian package systemd)")
    # verify checks that the program exists: point it at this checkout's agent
    program = f"{sys.executable} -m appupdater.agent"
    text = UNIT.read_text(encoding="utf-8").replace(PROGRAM, program)
    assert verify(text, tmp_path) == ""
    broken = text.replace("ProtectHome=yes", "ProtectHom=yes")
    assert "Unknown key" in verify(broken, tmp_path)  # the check does look at the keys


def verify(text: str, folder: Path) -> str:
    """What `systemd-analyze verify` says about a unit with this text (it exits 0 even for
    unknown keys and bad values, and only warns: any output is a finding)."""
    path = folder / UNIT.name
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    found = (result.stdout + result.stderr).strip()
    return found or ("" if result.returncode == 0 else f"exit {result.returncode}")


def test_the_sysusers_snippet_makes_the_services_user(tmp_path):
    if shutil.which("systemd-sysusers") is None:
        pytest.skip("needs systemd-sysusers (Debian package systemd)")
    result = subprocess.run(
        ["systemd-sysusers", "--dry-run", f"--root={tmp_path}", str(SYSUSERS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Creating user 'appupdater-agent'" in result.stdout + result.stderr


def install(destdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(INSTALL), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "DESTDIR": str(destdir), "PYTHON": sys.executable},
    )


def test_install_copies_an_agent_that_runs_on_the_standard_library_alone(tmp_path):
    root = tmp_path / "root"
    result = install(root)
    assert result.returncode == 0, result.stderr
    prefix = root / "opt" / "appupdater-agent"
    program = prefix / "bin" / "appupdater-agent"
    assert stat.S_IMODE(program.stat().st_mode) == 0o755
    assert (root / "etc/systemd/system/appupdater-agent.service").read_text() == UNIT.read_text()
    assert (root / "etc/sysusers.d/appupdater-agent.conf").read_text() == SYSUSERS.read_text()
    assert (prefix / "share" / "agent.md").exists()  # the unit's Documentation=
    # the program runs isolated (-I -S: no site-packages, no PYTHONPATH): only the copied
    # agent and the standard library
    assert program.read_text().startswith(f"#!{sys.executable} -IS\n")
    state = tmp_path / "state"
    made = subprocess.run(
        [str(program), "init", "--state", str(state), "--address", "127.0.0.1:8443"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    assert (state / "agent.pem").exists() and "Fingerprint:" in made.stdout

    again = install(root)  # an upgrade: the code is swapped in whole
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in prefix.iterdir()) == ["bin", "lib", "share"]
    assert (prefix / "lib" / "appupdater" / "agent" / "init_command.py").exists()

    gone = install(root, "--uninstall")
    assert gone.returncode == 0, gone.stderr
    assert not prefix.exists()
    assert not (root / "etc/systemd/system/appupdater-agent.service").exists()
    assert "state folder /var/lib/appupdater-agent" in gone.stdout
