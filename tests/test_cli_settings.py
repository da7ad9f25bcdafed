"""`appupdater settings [--json]`, `--default-waves SPEC [--soak MIN] [--max-failures PCT]` and
`--default-all-at-once`: the team's default strategy, as File → Settings… shows and stores it."""

from __future__ import annotations

import getpass
import json
import sqlite3

import pytest

from appupdater.store.db import SQLITE_PRAGMAS, close_database
from tests.test_cli import FIXTURE, run


@pytest.fixture
def database(tmp_path):
    yield ["--database", str(tmp_path / "cli.sqlite3")]
    close_database()


def _settings(capsys, database, *extra):
    code, out, err = run(capsys, *database, "settings", *extra)
    assert code == 0, err
    return out


def test_settings_say_all_at_once_until_changed(capsys, database):
    assert _settings(capsys, database) == (
        "Default strategy for new runs: all at once\n"
        "Not changed yet (shared by everyone using this database)\n"
    )
    assert json.loads(_settings(capsys, database, "--json")) == {
        "default_strategy": None,
        "changed": None,
    }


def test_default_waves_are_stored_and_shown(capsys, database):
    out = _settings(
        capsys, database, "--default-waves", "1,10%,50%,rest", "--soak", "15", "--max-failures", "5"
    )
    me = getpass.getuser()
    assert out.startswith(
        "Default strategy for new runs: in waves 1,10%,50%,rest, soak time 15 min, "
        "pause above 5 % failed\n"
        f"Last changed by {me} on "
    )
    document = json.loads(_settings(capsys, database, "--json"))
    assert document["default_strategy"] == {
        "waves": "1,10%,50%,rest",
        "soak_minutes": 15,
        "max_failures_percent": 5,
    }
    assert document["changed"]["by"] == me
    assert document["changed"]["at"].endswith("+00:00")
    # the defaults of soak and limit when only the sizes are given
    _settings(capsys, database, "--default-waves", "2,rest")
    assert json.loads(_settings(capsys, database, "--json"))["default_strategy"] == {
        "waves": "2,rest",
        "soak_minutes": 0,
        "max_failures_percent": 10,
    }
    assert _settings(capsys, database, "--default-all-at-once").startswith(
        "Default strategy for new runs: all at once\n"
    )
    assert json.loads(_settings(capsys, database, "--json"))["default_strategy"] is None


def test_update_still_records_all_at_once_without_waves(capsys, database):
    """The team default is where the wizard starts; `update` says its strategy itself."""
    _settings(capsys, database, "--default-waves", "1,rest")
    run(capsys, *database, "import", str(FIXTURE))
    code, out, err = run(capsys, *database, "update", "--app", "line-monitor", "--yes", "--json")
    assert code == 0, err
    run_id = json.loads(out)["run"]
    status = json.loads(run(capsys, *database, "status", "--run", str(run_id), "--json")[1])
    assert status["runs"][0]["strategy"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--default-waves", "1,rest,2"], "only the last wave can be 'the rest'"),
        (["--default-waves", "ten"], "'ten' is not a number of devices"),
        (["--soak", "5"], "--soak and --max-failures need --default-waves"),
        (["--default-waves", "1", "--max-failures", "120"], "between 0 % and 100 %"),
        (["--default-waves", "1", "--soak", "-3"], "the soak time must be between"),
    ],
)
def test_settings_refuse_what_cannot_be_used(capsys, database, args, message):
    code, _, err = run(capsys, *database, "settings", *args)
    assert code == 1 and message in err
    assert json.loads(_settings(capsys, database, "--json"))["changed"] is None


def test_waves_and_all_at_once_together_are_refused(capsys, database):
    with pytest.raises(SystemExit) as exit_:
        run(capsys, *database, "settings", "--default-waves", "1,rest", "--default-all-at-once")
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_locked_database_is_named(capsys, database, tmp_path, monkeypatch):
    monkeypatch.setitem(SQLITE_PRAGMAS, "busy_timeout", 50)
    _settings(capsys, database)  # the database exists
    close_database()
    other = sqlite3.connect(tmp_path / "cli.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        code, _, err = run(capsys, *database, "settings", "--default-waves", "1,rest")
    finally:
        other.close()
    assert code == 1 and "is locked by another program; nothing was changed" in err
