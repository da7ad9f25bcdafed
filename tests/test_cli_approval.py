"""`appupdater policy --second-approver on`, `update --yes` recorded awaiting approval (status
--json says so), `approve --run N [--note]` refused to the requester and done by another OS user
(tests/identities.py stands in for a second account), `reject --run N --note`, and `rollback --yes` awaiting too."""

from __future__ import annotations

import json

import pytest

from appupdater.store.db import close_database
from tests.identities import act_as
from tests.test_cli import FIXTURE, run


@pytest.fixture
def database(tmp_path, monkeypatch, capsys):
    args = ["--database", str(tmp_path / "cli.sqlite3")]
    act_as(monkeypatch, "alice")
    assert run(capsys, *args, "import", str(FIXTURE))[0] == 0
    yield args
    close_database()


def _json(capsys, *args):
    code, out, err = run(capsys, *args)
    assert code == 0, err
    return json.loads(out)


def test_two_people_approve_a_run_on_the_command_line(capsys, database, monkeypatch):
    policy = _json(capsys, *database, "policy", "--second-approver", "on", "--json")
    assert policy == {"second_approver": True, "expires_after_hours": 24}
    code, out, _ = run(capsys, *database, "update", "--app", "line-monitor", "--yes")
    assert code == 0
    assert "awaiting approval by a second person (not alice)" in out
    assert "nothing is configured or deployed before" in out
    assert "appupdater review --run " in out  # how the approver reads what it does
    [entry] = _json(capsys, *database, "status", "--json")["runs"]
    run_id = entry["id"]
    assert entry["status"] == "awaiting approval"
    assert entry["counts"] == {}
    assert entry["approval"]["requested_by"] == "alice"
    assert (entry["approved_by"], entry["approved_at"]) == (None, None)  # nobody approved yet
    code, out, _ = run(capsys, *database, "status")
    assert f"run {run_id} (asked by alice): awaiting approval" in out

    code, _, err = run(capsys, *database, "approve", "--run", str(run_id))
    assert code != 0
    assert f"you (alice) asked for run #{run_id}: a second person must approve it" in err

    act_as(monkeypatch, "bob")
    # what approving does, read first: press-07 and press-08 (fixtures/fleet.yaml)
    code, out, _ = run(capsys, *database, "review", "--run", str(run_id))
    assert code == 0
    assert out.startswith(f"Run {run_id}: line-monitor → 2.0.0 on 2 devices")
    assert "press-07 (Plant A): deploy now" in out and "  line-monitor 1.0.0 → 2.0.0" in out
    assert "    ~ collector 1.0.0 → 2.0.0" in out
    review = _json(capsys, *database, "review", "--run", str(run_id), "--json")
    assert [d["device"] for d in review["devices"]] == ["press-07", "press-08"]
    assert review["devices"][0]["applications"][0]["also_pushed"] is False
    code, _, err = run(capsys, *database, "review", "--run", "999")
    assert code != 0 and "there is no update run 999" in err
    result = _json(capsys, *database, "approve", "--run", str(run_id), "--note", "ok", "--json")
    assert result["deployments_created"] > 0
    [entry] = _json(capsys, *database, "status", "--json")["runs"]
    assert entry["status"] == "in progress"
    assert (entry["approval"]["state"], entry["approval"]["decided_by"]) == ("approved", "bob")
    assert entry["approval"]["note"] == "ok"
    assert entry["approved_by"] == "bob"  # the second person, not who asked
    assert entry["approved_at"] == entry["approval"]["decided_at"]


def test_reject_needs_a_note_and_rollback_awaits_too(capsys, database, monkeypatch):
    update = _json(capsys, *database, "update", "--app", "line-monitor", "--yes", "--json")
    assert update["approval"] is None  # policy off: approved when recorded
    run(capsys, *database, "policy", "--second-approver", "on")
    rollback = _json(capsys, *database, "rollback", "--run", str(update["run"]), "--yes", "--json")
    assert (rollback["approval"], rollback["deployments_created"]) == ("awaiting", 0)
    with pytest.raises(SystemExit):  # argparse: --note is required
        run(capsys, *database, "reject", "--run", str(rollback["run"]))
    assert "required: --note" in capsys.readouterr().err
    act_as(monkeypatch, "bob")
    code, out, _ = run(
        capsys, *database, "reject", "--run", str(rollback["run"]), "--note", "not now"
    )
    assert code == 0 and "rejected" in out
    [entry] = _json(capsys, *database, "status", "--run", str(rollback["run"]), "--json")["runs"]
    assert entry["status"] == "rejected"
    assert entry["approval"]["note"] == "not now"
    code, out, _ = run(capsys, *database, "status")
    assert "rejected by bob: not now" in out


def test_policy_refuses_an_expiry_out_of_range(capsys, database):
    code, _, err = run(
        capsys, *database, "policy", "--second-approver", "on", "--expires-after", "0"
    )
    assert code != 0 and "at most 720 hours (nothing was changed)" in err
    assert _json(capsys, *database, "policy", "--json")["second_approver"] is False


def test_approving_leaves_a_device_moved_past_the_request_as_it_is(
    capsys, database, monkeypatch, tmp_path
):
    """press-07 is configured 2.1.0 after alice asked for 2.0.0: the review says approving
    leaves it as it is, and `approve` says it did (no downgrade)."""
    assert run(capsys, *database, "policy", "--second-approver", "on")[0] == 0
    assert run(capsys, *database, "update", "--app", "line-monitor", "--yes")[0] == 0
    [entry] = _json(capsys, *database, "status", "--json")["runs"]
    later = tmp_path / "later.yaml"
    later.write_text(
        "applications:\n"
        "  - name: line-monitor\n"
        "    versions:\n"
        '      - version: "2.1.0"\n'
        "        modules:\n"
        '          - {name: collector, version: "2.1.0", image: "registry.local/collector:2.1.0"}\n'
        "devices:\n"
        "  - {name: press-07, applications: {line-monitor: {configured: '2.1.0'}}}\n"
    )
    assert run(capsys, *database, "import", str(later))[0] == 0
    act_as(monkeypatch, "bob")
    code, out, _ = run(capsys, *database, "review", "--run", str(entry["id"]))
    assert code == 0
    assert (
        "  left as it is: changed since the request: line-monitor is configured 2.1.0, later "
        "than the run's 2.0.0" in out
    )
    approved = _json(capsys, *database, "approve", "--run", str(entry["id"]), "--json")
    [skipped] = approved["skipped"]
    assert skipped["device"] == "press-07"
    assert skipped["why"].startswith("line-monitor is configured 2.1.0 since the run was planned")
