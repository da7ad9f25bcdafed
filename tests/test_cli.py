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


CHANGES_1_TO_2 = [
    {"module": "alerts", "op": "added", "from": None, "to": "1.0.0"},
    {"module": "collector", "op": "modified", "from": "1.0.0", "to": "2.0.0"},
    {"module": "dashboard", "op": "removed", "from": "0.9.2", "to": None},
]


def test_import_plan_json(capsys, database):
    code, out, _ = run(capsys, *database, "import", str(FIXTURE))
    assert code == 0 and "2 devices added" in out
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
                "changes": CHANGES_1_TO_2,
                "device_from": "1.0.0",
                "device_changes": CHANGES_1_TO_2,
            },
            {
                "device": "press-08",
                "application": "line-monitor",
                "configured": "2.0.0",
                "installed": "1.0.0",
                "from": "1.0.0",
                "to": "2.0.0",
                "changes": CHANGES_1_TO_2,
                "device_from": "1.0.0",
                "device_changes": CHANGES_1_TO_2,
            },
        ],
        "skipped": [],
        "carried_along": [],
    }
    # nobody is behind 1.0.0: press-08 is configured past it, but installed at it
    code, out, _ = run(capsys, *database, "plan", "--app", "line-monitor=1.0.0", "--json")
    assert json.loads(out) == {"targets": [], "skipped": [], "carried_along": []}


def test_plan_text(capsys, database):
    run(capsys, *database, "import", str(FIXTURE))
    code, out, _ = run(capsys, *database, "plan", "--app", "line-monitor")
    assert code == 0
    assert "2 devices affected, 2 updates" in out
    assert "press-07 (Plant A)" in out
    assert "    + alerts 1.0.0" in out and "    - dashboard 0.9.2" in out
    assert "    ~ collector 1.0.0 → 2.0.0" in out


def test_demo_then_export(capsys, database, tmp_path):
    code, out, _ = run(capsys, *database, "demo", "--devices", "40", "--seed", "1")
    assert code == 0 and "40 devices added" in out
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
        (["export", "{tmp}/nope/fleet.yaml"], "the folder {tmp}/nope does not exist"),
        (["export", "{tmp}"], "unknown format: name the file .yaml, .yml or .json"),
        (["export", "{tmp}/folder.yaml"], "it is a folder; give a file name inside it"),
        (["export", "{tmp}/fleet"], "unknown format"),
        (["import", "{tmp}/folder.yaml"], "folder.yaml: cannot be read: Is a directory"),
        (["status", "--run", "99"], "there is no update run 99"),
        (["engine", "--concurrency", "0"], "--concurrency must be between 1 and 5,000, not 0"),
        (["engine", "--concurrency", "5001"], "--concurrency must be between 1 and 5,000"),
    ],
)
def test_errors_are_one_clear_line(capsys, database, tmp_path, args, message):
    (tmp_path / "folder.yaml").mkdir()
    run(capsys, *database, "demo", "--devices", "1")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    code, _, err = run(capsys, *database, *args)
    assert code == 1
    assert err.startswith("appupdater: ") and message.replace("{tmp}", str(tmp_path)) in err
    assert err.count("\n") == 1 and "Traceback" not in err and "Errno" not in err
    assert not list(tmp_path.glob("**/*.tmp")) and not list(tmp_path.glob("**/*.partial"))


def test_environment_variable_selects_database(capsys, tmp_path, monkeypatch):
    path = tmp_path / "env.sqlite3"
    monkeypatch.setenv("APPUPDATER_DATABASE", str(path))
    try:
        assert run(capsys, "demo", "--devices", "5")[0] == 0
    finally:
        close_database()
    assert path.exists()


def test_update_records_a_run_like_the_wizard(capsys, database):
    run(capsys, *database, "import", str(FIXTURE))
    code, _, err = run(capsys, *database, "update", "--app", "line-monitor")
    assert code == 1 and "add --yes" in err
    code, out, _ = run(
        capsys,
        *database,
        "update",
        "--app",
        "line-monitor",
        "--device",
        "press-07",
        "--deploy",
        "2099-01-01T10:00+01:00",
        "--yes",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["deployments_created"] == 1 and result["action"] == "2099-01-01T10:00:00+01:00"
    code, out, _ = run(capsys, *database, "status", "--run", str(result["run"]), "--json")
    status = json.loads(out)
    assert status["runs"] == [
        {
            "id": result["run"],
            "status": "in progress",
            "approved_by": status["runs"][0]["approved_by"],
            "approved_at": status["runs"][0]["approved_at"],
            "counts": {"scheduled": 1},
            "strategy": None,
            "wave": None,
            "paused": None,
            "aborted": None,
            "rollback_of": None,
            "reason": None,
            "approval": None,
            "skipped": [],
        }
    ]
    [deployment] = status["deployments"]
    assert {k: deployment[k] for k in ("run", "device", "state", "attempts")} == {
        "run": result["run"],
        "device": "press-07",
        "state": "scheduled",
        "attempts": 0,
    }
    assert set(deployment) == {
        "id",
        "run",
        "device",
        "state",
        "phase",
        "progress",
        "attempts",
        "message",
        "action",
        "wave",
        "scheduled_at",
        "started_at",
        "finished_at",
        "next_attempt_at",
    }
    assert (deployment["action"], deployment["scheduled_at"]) == ("at", "2099-01-01T09:00:00+00:00")
    assert deployment["started_at"] is deployment["finished_at"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--deploy", "2001-01-01T00:00Z"], "in the past for press-07"),
        (["--deploy", "tomorrow"], "expected none, now or an ISO time"),
        (["--device", "nobody"], "not affected by this update: nobody"),
    ],
)
def test_update_refuses_bad_requests(capsys, database, args, message):
    run(capsys, *database, "import", str(FIXTURE))
    code, _, err = run(capsys, *database, "update", "--app", "line-monitor", *args, "--yes")
    assert code == 1 and message in err


def test_status_text(capsys, database):
    run(capsys, *database, "import", str(FIXTURE))
    assert run(capsys, *database, "status")[1] == "no update runs yet\n"
    run(capsys, *database, "update", "--app", "line-monitor", "--deploy", "none", "--yes")
    code, out, _ = run(capsys, *database, "status")
    assert code == 0 and "run 1 (" in out and ": completed — no deployments" in out


def test_counts_in_messages_are_words(capsys, database, tmp_path):
    run(capsys, *database, "import", str(FIXTURE))
    code, out, _ = run(
        capsys, *database, "update", "--app", "line-monitor", "--device", "press-07", "--yes"
    )
    assert code == 0
    assert "1 configuration updated, 1 deployment created (now)" in out
    code, out, _ = run(capsys, *database, "export", str(tmp_path / "out.yaml"))
    assert out == f"wrote 2 devices to {tmp_path / 'out.yaml'}\n"


@pytest.mark.integration
def test_demo_with_real_agents(tmp_path):
    """`demo --agents 2` starts two agents running 1.0.0, imports a fleet pointing at them, and
    stops them on Ctrl+C; exported fleet files never carry their tokens."""
    import signal

    from appupdater.core.devices import agent_devices
    from appupdater.engine.gateways.base import DeviceTarget
    from appupdater.engine.gateways.http import HttpGateway
    from appupdater.store.db import open_database

    database = tmp_path / "demo.sqlite3"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appupdater",
            "--database",
            str(database),
            "demo",
            "--agents",
            "2",
            "--folder",
            str(tmp_path / "agents"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        for line in process.stdout:  # blocks until the demo says it is ready
            lines.append(line)
            if "Ctrl+C stops the agents" in line:
                break
        assert any("2 devices added" in line for line in lines), lines
        open_database(str(database))
        devices = agent_devices()
        assert [d.name for d in devices] == ["agent-01", "agent-02"]
        for device in devices:
            assert device.connection.token and device.connection.endpoint.startswith("http://")
            result = HttpGateway().probe(DeviceTarget(device.name, {}, device.connection))
            assert result.online and result.installed == {"line-monitor": "1.0.0"}
        exported = tmp_path / "export.yaml"
        main(["--database", str(database), "export", str(exported)])
        text = exported.read_text()
        assert "endpoint: http://127.0.0.1:" in text
        assert "token" not in text and devices[0].connection.token not in text
        close_database()
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "agents stopped" in rest


def test_import_lists_every_mistake_on_its_own_line(capsys, database, tmp_path):
    import yaml

    run(capsys, *database, "import", str(FIXTURE))
    doc = yaml.safe_load(FIXTURE.read_text())
    doc["devices"][0]["applications"]["line-monitor"]["configured"] = "9.9.9"
    doc["devices"][0]["site"] = 7
    doc["devices"][1]["name"] = "press-07"
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out, err = run(capsys, *database, "import", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"appupdater: {path}: 3 problems; nothing was imported",
        "three.yaml: devices[0].applications.line-monitor.configured: "
        "unknown version '9.9.9' of application 'line-monitor'",
        'three.yaml: devices[0].site: must be text, not a number (write it in quotes: "7")',
        "three.yaml: devices[1].name: device 'press-07' is already defined at devices[0]",
    ]
    assert Device.get(Device.name == "press-07").site == "Plant A"


def test_an_error_written_over_several_lines_is_printed_as_one(capsys, database, monkeypatch):
    from appupdater.cli import verbs
    from appupdater.errors import DatabaseError

    def refused(args):
        raise DatabaseError(
            "cannot open the database x on 127.0.0.1: connection refused\n"
            "\tIs the server running on that host and accepting TCP/IP connections?\n"
        )

    monkeypatch.setitem(verbs.VERBS, "status", refused)
    code, _, err = run(capsys, *database, "status")
    assert (code, err) == (
        1,
        "appupdater: cannot open the database x on 127.0.0.1: connection refused; "
        "Is the server running on that host and accepting TCP/IP connections?\n",
    )
