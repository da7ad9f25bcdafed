"""The overview's run list with the second approver: a run awaiting approval stays listed (it
needs a decision) and has its own state filter; a rejected or expired run is finished (never
configured, nothing left to do), not listed for ever as unfinished."""

from __future__ import annotations

from datetime import timedelta

from appupdater.core import approvals
from appupdater.core.run_list import RunFilter, RunState, listed_runs
from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from tests.core.test_overview_history import NOW, run
from tests.identities import act_as


def test_awaiting_listed_rejected_and_expired_finished(three_presses, monkeypatch):
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin")
    act_as(monkeypatch, "alice")
    rejected = run("line-monitor", "2.0.0", 40)
    expired = run("line-monitor", "2.1.0-rc.1", 30)
    awaiting = run("edge-gateway", "3.10", 20)
    act_as(monkeypatch, "bob")
    approvals.reject(rejected, note="no", now=NOW - timedelta(days=40))
    assert approvals.expire_due(NOW - timedelta(days=29)) == [expired]
    day = NOW - timedelta(days=20, hours=-1)
    assert listed_runs(RunFilter(), day) == [awaiting]
    assert listed_runs(RunFilter(days=None, state=RunState.IN_PROGRESS), day) == [awaiting]
    assert listed_runs(RunFilter(days=None, state=RunState.AWAITING_APPROVAL), day) == [awaiting]
    assert listed_runs(RunFilter(days=None, state=RunState.FINISHED), day) == [expired, rejected]


def test_a_request_aborted_before_anyone_approved_says_so_and_never_expires(
    three_presses, monkeypatch
):
    """Aborted while it awaited a second approver: it is cancelled at once in `appupdater
    status` — not 'awaiting approval' until it expires — nobody can approve it, and the expiry
    passes it by (no 'expired' entry or webhook afterwards). The overview's words:
    tests/ui/test_overview_standing.py."""
    from appupdater.core.rollout import standings
    from appupdater.core.run_decisions import abort
    from appupdater.core.status import status_document, status_text
    from appupdater.errors import RunError
    from appupdater.store.models import UpdateRun

    set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin")
    act_as(monkeypatch, "alice")
    run_id = run("line-monitor", "2.0.0", 0)
    assert abort(run_id, "alice", NOW).changed
    standing = standings([run_id])[run_id]
    assert (standing.aborted_by, standing.approval) == ("alice", "awaiting")
    [entry] = status_document(run_id)["runs"]
    assert entry["status"] == "cancelled"
    line = "".join(status_text(status_document(run_id)))
    assert "aborted by alice" in line and "until" not in line
    act_as(monkeypatch, "bob")
    try:
        approvals.approve(run_id, now=NOW)
    except RunError as error:
        assert "was aborted by alice" in str(error)
    else:
        raise AssertionError("an aborted request was approved")
    assert approvals.expire_due(NOW + timedelta(days=2)) == []
    assert UpdateRun.get_by_id(run_id).approval == "awaiting"  # as it was left: nobody decided
