"""`appupdater --self-test`, run as a user would: a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def self_test(tmp_path, **env):
    environment = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "user-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "user-config"),
        **env,
    }
    environment.pop("QT_QPA_PLATFORM", None)  # it must choose off-screen by itself
    return subprocess.run(
        [sys.executable, "-m", "appupdater", "--self-test"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_self_test_rolls_out_to_simulated_devices_and_leaves_the_user_alone(tmp_path):
    result = self_test(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    passed = [line.split(maxsplit=1)[1] for line in lines if line.startswith("  ok ")]
    expected = (
        "icons render",
        "demo database",
        "main window lists",
        "wizard approved run #1",
        "deployments succeeded on simulated devices",
        "overview shows run #1 completed",
    )
    assert len(passed) == len(expected)
    assert all(what in line for what, line in zip(expected, passed, strict=True)), passed
    assert lines[-1].startswith("self-test passed in ")
    assert "FAIL" not in result.stdout and "Traceback" not in result.stderr
    # the temporary database and settings were its own: nothing of the user's was written
    assert not (tmp_path / "user-data").exists() and not (tmp_path / "user-config").exists()


def test_a_broken_installation_fails_the_self_test_and_names_the_step(tmp_path):
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    result = self_test(tmp_path, APPUPDATER_RESOURCES=str(tmp_path / "resources"))

    assert result.returncode == 1
    assert "  FAIL  icons: FileNotFoundError: icon 'appupdater' not found" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("self-test FAILED after ")
