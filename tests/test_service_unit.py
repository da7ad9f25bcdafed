"""The systemd unit for `appupdater engine` (packaging/appupdater-engine.service): what it
promises (a dedicated user, restart on failure, the database from an environment file,
hardening), and that systemd itself accepts every line of it."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from appupdater import desktop

UNIT = Path(__file__).resolve().parents[1] / "packaging" / "appupdater-engine.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_runs_the_engine_as_its_own_user_from_an_environment_file():
    service = unit()["Service"]
    assert service["ExecStart"] == "/opt/appupdater/bin/appupdater engine"
    assert service["User"] == service["Group"] == "appupdater"
    assert service["EnvironmentFile"] == "/etc/appupdater/engine.env"
    assert service["Restart"] == "on-failure" and float(service["RestartSec"]) > 0
    assert unit()["Unit"]["StartLimitIntervalSec"] == "0"  # retries for as long as it takes
    assert service["StateDirectory"] == "appupdater"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == "" and service["UMask"] == "0077"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"
    assert "password" not in UNIT.read_text().lower().replace("no password", "")


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


def test_systemd_accepts_every_line_of_the_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("needs systemd-analyze (Debian package systemd)")
    # verify checks that the program exists: point it at this installation's appupdater
    command = " ".join(desktop.launcher())
    text = UNIT.read_text().replace("/opt/appupdater/bin/appupdater", command)
    assert verify(text, tmp_path) == ""
    broken = text.replace("ProtectSystem=strict", "ProtectSystm=strict")
    assert "Unknown key" in verify(broken, tmp_path)  # the check does look at the keys
