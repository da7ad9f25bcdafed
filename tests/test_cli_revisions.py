"""`appupdater history --device NAME`, `rollback --run N`, `revert --device NAME --to K`, and
`status --json`'s "rollback_of"."""

from __future__ import annotations

import getpass
import json

import pytest

from appupdater.store.db import close_database
from tests.test_cli import FIXTURE, run


@pytest.fixture
def database(tmp_path, capsys):
    database = ["--database", str(tmp_path / "cli.sqlite3")]
    run(capsys, *database, "import", str(FIXTURE))
    yield database
    close_database()


def _json(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


def _update(capsys, database):
    args = ("update", "--app", "line-monitor", "--deploy", "none", "--yes", "--json")
    return _json(capsys, *database, *args)["run"]


def test_history_lists_revisions_newest_first(capsys, database):
    run_id = _update(capsys, database)
    document = _json(capsys, *database, "history", "--device", "press-07", "--json")
    assert document["device"] == "press-07"
    newest, first = document["revisions"]
    assert (newest["number"], newest["reason"], newest["run"], newest["by"]) == (
        2,
        f"run #{run_id}",
        run_id,
        getpass.getuser(),
    )
    assert newest["configured"] == {"line-monitor": "2.0.0"}
    assert first["reason"] == "import of fleet.yaml" and first["replaced"] is None
    [change] = newest["changes"]
    assert (change["from"], change["to"]) == ("1.0.0", "2.0.0")
    assert {(m["module"], m["op"]) for m in change["modules"]} == {
        ("collector", "modified"),
        ("alerts", "added"),
        ("dashboard", "removed"),
    }
    code, out, _ = run(capsys, *database, "history", "--device", "press-07")
    assert code == 0
    assert out.startswith("revision 2  ") and f"run #{run_id}" in out
    assert "line-monitor: 1.0.0 → 2.0.0 (" in out


def test_history_of_an_unknown_device_says_so(capsys, database):
    code, _, err = run(capsys, *database, "history", "--device", "nope")
    assert code == 1 and "there is no device called 'nope'" in err


def test_rollback_shows_the_plan_then_records_it(capsys, database):
    run_id = _update(capsys, database)
    code, out, _ = run(capsys, *database, "rollback", "--run", str(run_id))
    assert code == 0
    assert f"rollback of run #{run_id}: 1 device" in out
    assert "press-07: line-monitor 2.0.0 → 1.0.0" in out
    assert f"press-08: line-monitor: run #{run_id} did not change its configuration" in out
    assert "nothing was recorded" in out
    assert _json(capsys, *database, "status", "--json")["runs"][0]["id"] == run_id

    result = _json(
        capsys, *database, "rollback", "--run", str(run_id), "--deploy", "none", "--yes", "--json"
    )
    assert result["rollback_of"] == run_id and result["configurations_updated"] == 1
    runs = _json(capsys, *database, "status", "--json")["runs"]
    assert [(r["id"], r["rollback_of"]) for r in runs] == [
        (result["run"], run_id),
        (run_id, None),
    ]
    history = _json(capsys, *database, "history", "--device", "press-07", "--json")
    assert [r["reason"] for r in history["revisions"]] == [
        f"rollback of run #{run_id}",
        f"run #{run_id}",
        "import of fleet.yaml",
    ]
    assert history["revisions"][0]["configured"] == {"line-monitor": "1.0.0"}


def test_rollback_of_a_device_not_in_the_run_is_refused(capsys, database, tmp_path):
    run_id = _update(capsys, database)
    code, _, err = run(capsys, *database, "rollback", "--run", str(run_id), "--device", "nope")
    assert code == 1 and "no device called 'nope'" in err
    code, _, err = run(capsys, *database, "rollback", "--run", "77", "--yes")
    assert code == 1 and "there is no update run 77" in err


def test_revert_to_a_revision(capsys, database):
    _update(capsys, database)
    code, out, _ = run(capsys, *database, "revert", "--device", "press-07", "--to", "1")
    assert code == 0 and "revert to revision 1: 1 device" in out
    code, out, _ = run(
        capsys,
        *database,
        "revert",
        "--device",
        "press-07",
        "--to",
        "1",
        "--deploy",
        "none",
        "--yes",
    )
    assert code == 0 and "(revert to revision 1): 1 configuration restored" in out
    history = _json(capsys, *database, "history", "--device", "press-07", "--json")
    assert history["revisions"][0]["reason"] == "revert to revision 1"
    assert history["revisions"][0]["configured"] == {"line-monitor": "1.0.0"}
    code, _, err = run(capsys, *database, "revert", "--device", "press-07", "--to", "3", "--yes")
    assert code == 1 and "revision 3 is the current configuration of press-07" in err


def test_rollback_and_revert_take_waves_like_update(capsys, database):
    run_id = _update(capsys, database)
    waves = ("--waves", "1", "--soak", "15", "--max-failures", "20")
    result = _json(capsys, *database, "rollback", "--run", str(run_id), *waves, "--yes", "--json")
    code, out, _ = run(capsys, *database, "status", "--run", str(result["run"]), "--json")
    [entry] = json.loads(out)["runs"]
    assert entry["strategy"] == {"waves": [1], "soak_minutes": 15, "max_failures_percent": 20}
    revert = ("revert", "--device", "press-07", "--to", "2", "--waves", "1", "--yes", "--json")
    result = _json(capsys, *database, *revert)
    code, out, _ = run(capsys, *database, "status", "--run", str(result["run"]), "--json")
    assert json.loads(out)["runs"][0]["strategy"]["waves"] == [1]
    code, _, err = run(
        capsys, *database, "revert", "--device", "press-07", "--to", "1", "--soak", "5"
    )
    assert code == 1 and "--soak and --max-failures need --waves" in err


@pytest.mark.parametrize("as_json", [True, False])
def test_rollback_prints_the_devices_skipped_when_applied(capsys, database, monkeypatch, as_json):
    """Another rollback of the same run lands between this one's planning and its
    configuration step: press-07 is skipped then, and the output says why."""
    from appupdater.core import runs
    from appupdater.core.rollback import plan_rollback

    run_id = _update(capsys, database)
    create_run = runs.create_run

    def meanwhile(plan, **kwargs):
        created = create_run(plan, **kwargs)
        other = create_run(plan_rollback(run_id), approved_by="carol", default=runs.CONFIG_ONLY)
        runs.apply_configuration(other)
        return created

    monkeypatch.setattr(runs, "create_run", meanwhile)
    rollback = ("rollback", "--run", str(run_id), "--deploy", "none", "--yes")
    why = f"changed since the rollback was planned (now revision 3: rollback of run #{run_id})"
    if as_json:
        result = _json(capsys, *database, *rollback, "--json")
        assert result["configurations_updated"] == 0
        assert result["skipped_when_applied"] == [{"device": "press-07", "reason": why}]
        assert result["skipped"] == [
            {"device": "press-08", "reason": f"run #{run_id} did not change its configuration"}
        ]
    else:
        code, out, err = run(capsys, *database, *rollback)
        assert code == 0, err
        assert "0 configurations restored, 0 deployments created" in out
        assert f"skipped when applied:\n  press-07: {why}\n" in out
        assert f"skipped when planned:\n  press-08: line-monitor: run #{run_id} did not" in out
