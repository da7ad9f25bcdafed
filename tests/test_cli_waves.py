"""`appupdater update --waves SPEC [--soak MINUTES] [--max-failures PERCENT]`, `pause`, `resume`,
`abort` and `next-wave --run N`, and what `status --json` says of runs in waves."""

from __future__ import annotations

import getpass
import json

import pytest

from appupdater.store.db import close_database
from tests.test_cli import FIXTURE, run


@pytest.fixture
def database(tmp_path):
    yield ["--database", str(tmp_path / "cli.sqlite3")]
    close_database()


def _update(capsys, database, *extra):
    run(capsys, *database, "import", str(FIXTURE))
    code, out, err = run(
        capsys, *database, "update", "--app", "line-monitor", "--yes", "--json", *extra
    )
    assert code == 0, err
    return json.loads(out)["run"]


def _status(capsys, database, run_id):
    code, out, _ = run(capsys, *database, "status", "--run", str(run_id), "--json")
    assert code == 0
    return json.loads(out)


def test_update_in_waves_and_what_status_says(capsys, database):
    run_id = _update(capsys, database, "--waves", "1,rest", "--soak", "15", "--max-failures", "20")
    status = _status(capsys, database, run_id)
    [entry] = status["runs"]
    assert entry["strategy"] == {"waves": [1, 1], "soak_minutes": 15, "max_failures_percent": 20}
    assert entry["wave"] == {"current": 1, "total": 2, "next_at": None}
    assert entry["paused"] is None and entry["aborted"] is None
    assert entry["counts"] == {"held": 1, "queued": 1}
    waves = {d["device"]: (d["wave"], d["state"]) for d in status["deployments"]}
    assert waves == {"press-07": (1, "queued"), "press-08": (2, "held")}
    assert {"started_at", "finished_at"} <= set(status["deployments"][0])


def test_all_at_once_says_null(capsys, database):
    run_id = _update(capsys, database)
    [entry] = _status(capsys, database, run_id)["runs"]
    assert (entry["strategy"], entry["wave"], entry["paused"]) == (None, None, None)
    assert {d["wave"] for d in _status(capsys, database, run_id)["deployments"]} == {None}


def test_pause_resume_next_wave_and_abort(capsys, database):
    run_id = _update(capsys, database, "--waves", "1,rest", "--soak", "60")
    me = getpass.getuser()
    code, out, _ = run(capsys, *database, "pause", "--run", str(run_id))
    assert (
        code == 0 and out == f"run #{run_id} paused: nothing new of it starts until it is resumed\n"
    )
    paused = _status(capsys, database, run_id)["runs"][0]["paused"]
    assert (paused["by"], paused["reason"]) == (me, f"paused by {me}")
    assert paused["at"].endswith("+00:00")
    text = run(capsys, *database, "status")[1]
    assert f"in progress, wave 1 of 2, paused: paused by {me} — 1 held, 1 queued" in text
    code, out, _ = run(capsys, *database, "pause", "--run", str(run_id))
    assert code == 0 and out.startswith(f"run #{run_id} is already paused (by {me}")
    code, out, _ = run(capsys, *database, "next-wave", "--run", str(run_id))
    assert out == f"run #{run_id} is paused: resume it first\n"
    assert run(capsys, *database, "resume", "--run", str(run_id))[1] == f"run #{run_id} resumed\n"
    code, out, _ = run(capsys, *database, "next-wave", "--run", str(run_id))
    assert out == f"run #{run_id}: wave 2 of 2 started\n"
    assert _status(capsys, database, run_id)["runs"][0]["wave"]["current"] == 2
    code, out, _ = run(capsys, *database, "abort", "--run", str(run_id))
    assert out == f"run #{run_id} aborted: 2 deployments cancelled\n"
    entry = _status(capsys, database, run_id)["runs"][0]
    assert entry["aborted"]["by"] == me and entry["counts"] == {"cancelled": 2}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--waves", "1,rest,2"], "only the last wave can be 'the rest'"),
        (["--waves", "ten"], "'ten' is not a number of devices"),
        (["--soak", "5"], "--soak and --max-failures need --waves"),
        (["--waves", "1", "--max-failures", "120"], "between 0 % and 100 %"),
    ],
)
def test_update_refuses_waves_it_cannot_use(capsys, database, args, message):
    run(capsys, *database, "import", str(FIXTURE))
    code, _, err = run(capsys, *database, "update", "--app", "line-monitor", "--yes", *args)
    assert code == 1 and message in err


def test_decisions_about_a_run_that_does_not_exist(capsys, database):
    run(capsys, *database, "import", str(FIXTURE))
    code, _, err = run(capsys, *database, "pause", "--run", "42")
    assert code == 1 and "there is no run #42" in err
