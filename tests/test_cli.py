from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from appupdater import __version__
from appupdater.cli import main
from appupdater.store.db import close_database
from appupdater.store.models import Device, DeviceApp

FIXTURE = Path(__file__).parent / "fixtures" / "fleet.yaml"


@pytest.fixture
def database(tmp_path):
    yield ["--database", str(tmp_path / "cli.sqlite3")]
    close_database()


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_as_installed_command():
    result = subprocess.run(
        [sys.executable, "-m", "appupdater", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == f"appupdater {__version__}"


def test_import_plan_json(capsys, database):
    code, out, _ = run(capsys, *database, "import", str(FIXTURE))
    assert code == 0 and "2 device(s) added" in out
    code, out, _ = run(capsys, *database, "plan", "--app", "line-monitor", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan == {
        "targets": [
            {
                "device": "press-07",
                "application": "line-monitor",
                "configured": "1.0.0",
                "installed": "1.0.0",
                "from": "1.0.0",
                "to": "2.0.0",
                "changes": [
                    {"module": "alerts", "op": "added", "from": None, "to": "1.0.0"},
                    {"module": "collector", "op": "modified", "from": "1.0.0", "to": "2.0.0"},
                    {"module": "dashboard", "op": "removed", "from": "0.9.2", "to": None},
                ],
            },
            {
                "device": "press-08",
                "application": "line-monitor",
                "configured": "2.0.0",
                "installed": "1.0.0",
                "from": "1.0.0",
                "to": "2.0.0",
                "changes": [
                    {"module": "alerts", "op": "added", "from": None, "to": "1.0.0"},
                    {"module": "collector", "op": "modified", "from": "1.0.0", "to": "2.0.0"},
                    {"module": "dashboard", "op": "removed", "from": "0.9.2", "to": None},
                ],
            },
        ],
        "skipped": [],
    }
    # nobody is behind 1.0.0: press-08 is configured past it, but installed at it
    code, out, _ = run(capsys, *database, "plan", "--app", "line-monitor=1.0.0", "--json")
    assert json.loads(out) == {"targets": [], "skipped": []}


def test_plan_text(capsys, database):
    run(capsys, *database, "import", str(FIXTURE))
    code, out, _ = run(capsys, *database, "plan", "--app", "line-monitor")
    assert code == 0
    assert "2 device(s) affected" in out
    assert "press-07 (Plant A)" in out
    assert "    + alerts 1.0.0" in out and "    - dashboard 0.9.2" in out
    assert "    ~ collector 1.0.0 → 2.0.0" in out


def test_demo_then_export(capsys, database, tmp_path):
    code, out, _ = run(capsys, *database, "demo", "--devices", "40", "--seed", "1")
    assert code == 0 and "40 device(s) added" in out
    assert Device.select().count() == 40
    assert Device.select().where(Device.online == False).count() >= 0  # noqa: E712
    # several sites, configured ahead of installed somewhere
    assert Device.select(Device.site).distinct().count() > 2
    assert DeviceApp.select().where(DeviceApp.configured != DeviceApp.installed).count() > 0
    target = tmp_path / "fleet.json"
    code, out, _ = run(capsys, *database, "export", str(target))
    assert code == 0 and "wrote 40 devices" in out
    assert len(json.loads(target.read_text())["devices"]) == 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--app", "nope"], "unknown application 'nope'"),
        (["import", "missing.yaml"], "missing.yaml: cannot be read"),
        (["demo", "--devices", "0"], "--devices must be at least 1"),
    ],
)
def test_errors_are_one_clear_line(capsys, database, args, message):
    code, _, err = run(capsys, *database, *args)
    assert code == 1
    assert err.startswith("appupdater: ") and message in err
    assert "Traceback" not in err


def test_environment_variable_selects_database(capsys, tmp_path, monkeypatch):
    path = tmp_path / "env.sqlite3"
    monkeypatch.setenv("APPUPDATER_DATABASE", str(path))
    try:
        assert run(capsys, "demo", "--devices", "5")[0] == 0
    finally:
        close_database()
    assert path.exists()
