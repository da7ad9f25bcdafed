"""`appupdater audit`: the trail newest first in a table, as JSON or CSV, with each filter; a
time that is not ISO 8601 is refused with exit 2."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import pytest

from appupdater.core import audit
from appupdater.store.db import close_database, open_database
from tests.audit_entries import PEOPLE, fill, record_as
from tests.test_cli import run


@pytest.fixture
def database(tmp_path):
    path = str(tmp_path / "cli.sqlite3")
    open_database(path)
    fill(30)  # 2026-11-01 08:00 UTC, one an hour
    record_as(
        PEOPLE[1],
        audit.CANCEL,
        datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
        objects={"deployments": [3, 4]},
        run=77,
        note="Wartung läuft",
    )
    close_database()
    yield ["--database", path]
    close_database()


def test_a_table_in_local_time_newest_first(capsys, database):
    code, out, err = run(capsys, *database, "audit", "--limit", "3")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "TIME",
        "USER",
        "HOST",
        "ACTION",
        "RUN",
        "OBJECTS",
        "NOTE",
        "OUTCOME",
    ]
    # 09:30 UTC is 10:30 in Berlin
    assert lines[1].split() == [
        "2026-11-28", "10:30:00", "bob", "ws-bob", "cancel", "77",
        "deployments", "#3,", "#4", "Wartung", "läuft", "done",
    ]  # fmt: skip
    assert lines[2].startswith("2026-11-02 14:00:00  ops_role (OS user carol)  ws-carol")
    assert lines[-1] == "The newest 3 of 31 entries; --limit N shows more, --limit 0 all."


def test_each_filter_and_json(capsys, database):
    def listed(*options):
        code, out, err = run(capsys, *database, "audit", "--json", *options)
        assert (code, err) == (0, "")
        return json.loads(out)

    everything = listed()
    assert len(everything) == 31 and everything[0]["note"] == "Wartung läuft"
    assert everything[0] == {
        "id": 31,
        "at": "2026-11-28T09:30:00+00:00",
        "user": "bob",
        "os_user": "bob",
        "host": "ws-bob",
        "action": "cancel",
        "objects": {"deployments": [3, 4]},
        "run": 77,
        "note": "Wartung läuft",
        "outcome": "done",
    }
    assert {e["user"] for e in listed("--user", "alice")} == {"alice"}
    assert {e["action"] for e in listed("--action", "import")} == {"import"}
    assert len(listed("--action", "import")) == 6
    # naive times are local (Berlin, UTC+1): 09:00 local is 08:00 UTC, the first entry
    window = listed("--since", "2026-11-01T09:00", "--until", "2026-11-01T12:00+01:00")
    assert [e["at"] for e in window] == [
        "2026-11-01T10:00:00+00:00",
        "2026-11-01T09:00:00+00:00",
        "2026-11-01T08:00:00+00:00",
    ]
    # the whole of 1 November, local: until 23:00 UTC, so 08:00 to 22:00 UTC
    assert len(listed("--until", "2026-11-01")) == 15
    assert [e["run"] for e in listed("--search", "EDGE-07")] == [8]
    assert len(listed("--limit", "2")) == 2
    assert listed("--user", "nobody") == []


def test_csv_to_a_file(capsys, database, tmp_path):
    path = tmp_path / "audit.csv"
    code, out, _ = run(capsys, *database, "audit", "--user", "bob", "--csv", str(path))
    assert (code, out) == (0, f"wrote 11 audit entries to {path}\n")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["time (UTC)", "time (local)", "user"]
    assert len(rows) == 12 and rows[1][-2] == "Wartung läuft"


def test_nothing_found_says_so(capsys, database):
    assert run(capsys, *database, "audit", "--action", "rollback") == (
        0,
        "No audit entries match these filters.\n",
        "",
    )


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--since", "yesterday", "argument --since: 'yesterday' is not an ISO 8601 date or time"),
        ("--until", "2026-13-01", "argument --until: '2026-13-01' is not an ISO 8601 date"),
        ("--limit", "-1", "argument --limit: '-1' is not a number of entries"),
    ],
)
def test_a_bad_value_is_refused_with_exit_2(capsys, database, option, value, says):
    with pytest.raises(SystemExit) as exit_:
        run(capsys, *database, "audit", option, value)
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_since_after_until_is_refused(capsys, database):
    code, out, err = run(
        capsys, *database, "audit", "--since", "2026-11-02", "--until", "2026-11-01"
    )
    assert (code, out, err) == (2, "", "appupdater: --since must be before --until\n")


def test_a_mistyped_database_is_not_created_as_an_empty_trail(capsys, tmp_path):
    typo = tmp_path / "fleet-tpyo.sqlite3"
    code, out, err = run(capsys, "--database", str(typo), "audit")
    assert code != 0 and "No audit entries" not in out
    assert str(typo) in err
    assert not typo.exists()
