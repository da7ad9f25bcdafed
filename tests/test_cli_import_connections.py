"""`appupdater import` of a file that changes or leaves out device connections: what it prints
(text and --json), what the database keeps, and what `appupdater audit --json` shows of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appupdater.cli import main
from appupdater.store.db import close_database
from appupdater.store.models import Device

FIXTURE = Path(__file__).parent / "fixtures" / "fleet.yaml"  # press-08 at https://10.0.3.8:8443


@pytest.fixture
def database(tmp_path):
    yield ["--database", str(tmp_path / "cli.sqlite3")]
    close_database()


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_a_file_of_names_and_versions_keeps_the_endpoint_and_says_nothing_of_it(
    capsys, database, tmp_path
):
    run(capsys, *database, "import", str(FIXTURE))
    names_only = tmp_path / "names.yaml"
    names_only.write_text(
        "devices:\n  - {name: press-08, applications: {line-monitor: {configured: '2.0.0'}}}\n"
    )
    out = run(capsys, *database, "import", "--json", str(names_only))
    assert json.loads(out)["connections_changed"] == 0
    assert Device.get(Device.name == "press-08").endpoint == "https://10.0.3.8:8443"


def test_a_changed_and_a_cleared_endpoint_are_printed_and_audited(capsys, database, tmp_path):
    run(capsys, *database, "import", str(FIXTURE))
    moved = tmp_path / "moved.json"
    moved.write_text(
        json.dumps(
            {
                "devices": [
                    {"name": "press-07", "endpoint": "https://10.0.3.7:8443"},
                    {"name": "press-08", "endpoint": None},
                ]
            }
        )
    )
    out = run(capsys, *database, "import", str(moved))
    assert out == (
        f"{moved}: endpoint changed on 1 device, endpoint cleared on 1 device (simulated from "
        "now on), 2 devices changed\n"
    )
    assert Device.get(Device.name == "press-08").endpoint is None
    [entry] = json.loads(run(capsys, *database, "audit", "--json", "--limit", "1"))
    assert entry["action"] == "import"
    assert entry["objects"]["connections"] == [
        "press-07 endpoint none → https://10.0.3.7:8443",
        "press-08 endpoint https://10.0.3.8:8443 → none (simulated)",
    ]
    again = run(capsys, *database, "import", "--json", str(moved))
    assert json.loads(again)["connections_changed"] == 0  # idempotent
