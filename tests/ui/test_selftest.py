"""`appupdater --self-test`, run as a user would: a process of its own."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def self_test(tmp_path, *, keep: Path | None = None, **env):
    """`appupdater --self-test` in a process of its own; with `keep`, the same run through
    `run_self_test(keep=...)`, so that the test can look at what it left on disk."""
    environment = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "user-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "user-config"),
        **env,
    }
    environment.pop("QT_QPA_PLATFORM", None)  # it must choose off-screen by itself
    command = [sys.executable, "-m", "appupdater", "--self-test"]
    if keep is not None:
        command = [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from appupdater.ui.selftest import "
            f"run_self_test; sys.exit(run_self_test(keep=Path({str(keep)!r})))",
        ]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_self_test_rolls_out_to_an_agent_and_simulated_devices_and_leaves_the_user_alone(
    tmp_path,
):
    result = self_test(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    passed = [line.split(maxsplit=1)[1] for line in lines if line.startswith("  ok ")]
    expected = (
        "icons render",
        "1 agent on loopback and 5 simulated devices",
        "main window lists 1 application and 6 devices",
        "wizard approved run #1 for 6 devices",
        "6 deployments succeeded: line-monitor 2.0.0 active on the agent's disk, 5 devices "
        "simulated",
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


def test_the_agent_of_the_self_test_runs_the_new_versions_and_the_rest_was_simulated(tmp_path):
    """The self-test's own disk and database, read afterwards: the agent switched to the
    target's modules, the devices without an endpoint never reached an agent."""
    kept = tmp_path / "kept"
    result = self_test(tmp_path, keep=kept)
    assert result.returncode == 0, result.stdout + result.stderr

    state = kept / "agents" / "devices" / "agent-01"
    active = {
        link.parent.name: os.readlink(link)
        for link in (state / "modules").glob("*/current")
        if link.is_symlink()
    }
    assert active == {"collector": "2.0.0", "alerts": "1.0.0", "web-ui": "2.0.0"}
    record = json.loads((state / "state.json").read_text())
    assert record["installed"]["line-monitor"]["version"] == "2.0.0"
    with sqlite3.connect(kept / "self-test.sqlite3") as database:
        rows = database.execute(
            "SELECT device.name, device.endpoint, deployment.state, deployment.last_message "
            "FROM deployment JOIN device ON device.id = deployment.device_id"
        ).fetchall()
    assert len(rows) == 6 and {state for _, _, state, _ in rows} == {"succeeded"}
    for name, endpoint, _, message in rows:
        if endpoint is None:
            assert message == f"deployed to {name}: line-monitor 2.0.0"
        else:
            assert name == "agent-01" and message.startswith("deployed to agent-01: active:")
