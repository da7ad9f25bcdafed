"""The second approver with a real engine on a hand-driven clock: a run awaiting approval is
never configured or deployed; the requester's own approval is refused; another user's approval
configures and deploys; a rejection and an expiry leave the fleet as it was. The users are two
operating-system users (tests/identities.py stands in for a second account)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core import approvals
from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.engine.clock import ManualClock
from appupdater.errors import RunError
from appupdater.store.models import ConfigRevision, Deployment, Device, DeviceApp, UpdateRun
from tests.engine.helpers import after_steps, approve, at, state
from tests.identities import act_as

WAIT = 15_000
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def fleet() -> list[tuple[str, str | None]]:
    """Every device's configured versions, and every deployment (nothing else changes)."""
    configured = [
        (d.device.name, d.configured.version if d.configured else None)
        for d in DeviceApp.select().order_by(DeviceApp.id)
    ]
    return [*configured, ("deployments", str(Deployment.select().count()))]


@pytest.fixture
def second_approver(sim_devices, monkeypatch):
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin", now=START)
    act_as(monkeypatch, "alice")


def test_awaiting_run_is_left_alone_until_another_user_approves(
    qtbot, second_approver, monkeypatch, make_engine
):
    clock = ManualClock(START)
    before = fleet()
    run_id = approve(devices=["press-01"], now=START)
    run = UpdateRun.get_by_id(run_id)
    assert (run.approval, run.requested_by, run.requested_at) == ("awaiting", "alice", START)
    assert run.expires_at == START + timedelta(hours=24)
    engine = make_engine(clock=clock)
    engine.start()
    after_steps(qtbot, engine, 3)
    assert fleet() == before
    assert UpdateRun.get_by_id(run_id).configured_at is None

    with pytest.raises(RunError, match=r"you \(alice\) asked for run #\d+: a second person"):
        approvals.approve(run_id, note="mine", now=clock.now())
    assert UpdateRun.get_by_id(run_id).approval == "awaiting"

    act_as(monkeypatch, "bob")
    applied = approvals.approve(run_id, note="checked the release notes", now=clock.now())
    assert applied.configurations_updated == 1 and applied.deployments_created == 1
    run = UpdateRun.get_by_id(run_id)
    assert (run.approval, run.decided_by, run.decision_note) == (
        "approved",
        "bob",
        "checked the release notes",
    )
    revision = ConfigRevision.get(ConfigRevision.run == run_id)
    assert revision.by == "bob"  # who approved the change, not who asked for it
    qtbot.waitUntil(lambda: state(run_id, "press-01") == "succeeded", timeout=WAIT)
    with pytest.raises(RunError, match="is approved by bob"):
        approvals.approve(run_id, now=clock.now())


def test_reject_needs_a_note_and_leaves_the_fleet_untouched(
    qtbot, second_approver, monkeypatch, make_engine
):
    clock = ManualClock(START)
    before = fleet()
    run_id = approve(devices=["press-01", "press-03"], now=START)
    act_as(monkeypatch, "bob")
    with pytest.raises(RunError, match="say why in a note"):
        approvals.reject(run_id, note="  ", now=START)
    act_as(monkeypatch, "alice")
    with pytest.raises(RunError, match="a second person must reject it"):
        approvals.reject(run_id, note="changed my mind", now=START)
    act_as(monkeypatch, "bob")
    approvals.reject(run_id, note="not during the shift", now=START)
    engine = make_engine(clock=clock)
    engine.start()
    after_steps(qtbot, engine, 3)
    assert fleet() == before
    run = UpdateRun.get_by_id(run_id)
    assert (run.approval, run.decided_by, run.decision_note, run.configured_at) == (
        "rejected",
        "bob",
        "not during the shift",
        None,
    )
    with pytest.raises(RunError, match="is rejected by bob"):
        approvals.approve(run_id, now=START)


def test_an_undecided_request_expires_once_and_changes_nothing(
    qtbot, second_approver, monkeypatch, make_engine
):
    clock = ManualClock(START)
    before = fleet()
    run_id = approve(devices=["press-01"], now=START)
    first, second = make_engine(clock=clock), make_engine(clock=clock)
    first.start()
    second.start()
    after_steps(qtbot, first, 2)
    assert UpdateRun.get_by_id(run_id).approval == "awaiting"
    clock.advance(timedelta(hours=24))
    qtbot.waitUntil(lambda: UpdateRun.get_by_id(run_id).approval == "expired", timeout=WAIT)
    after_steps(qtbot, second, 2)
    run = UpdateRun.get_by_id(run_id)
    assert (run.decided_by, run.decided_at) == (approvals.EXPIRED_BY, START + timedelta(hours=24))
    assert approvals.expire_due(clock.now()) == []  # recorded once
    assert fleet() == before
    act_as(monkeypatch, "bob")
    with pytest.raises(RunError, match="is expired"):
        approvals.approve(run_id, now=clock.now())


def test_a_time_that_passed_while_waiting_is_refused_by_name(second_approver, monkeypatch):
    run_id = approve(
        devices=["press-01", "press-02", "press-03"],
        actions={"press-03": at(60, START), "press-02": at(60 * 18, START)},
        now=START,
    )
    act_as(monkeypatch, "bob")
    later = START + timedelta(hours=2)
    with pytest.raises(
        RunError, match=r"deployment time has passed for press-03 \(2026-11-27 11:00\)"
    ):
        approvals.approve(run_id, now=later)
    assert UpdateRun.get_by_id(run_id).approval == "awaiting"
    applied = approvals.approve(run_id, now=later, deploy_now_instead=True)
    assert applied.deployments_created == 3
    states = {
        name: (state, scheduled_at)
        for name, state, scheduled_at in Deployment.select(
            Device.name, Deployment.state, Deployment.scheduled_at
        )
        .join(Device)
        .where(Deployment.run == run_id)
        .tuples()
    }
    assert states["press-01"][0] == states["press-03"][0] == "queued"  # late: now instead
    assert states["press-02"] == ("scheduled", START + timedelta(hours=18))  # its time stands


def test_policy_off_the_run_is_approved_when_recorded(sim_devices):
    run = UpdateRun.get_by_id(approve(devices=["press-01"], now=START))
    assert (run.approval, run.requested_by) == (None, None)
