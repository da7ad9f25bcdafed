"""Every administrator action leaves exactly one audit entry, done the way the app does it (the
core functions the windows and the command line call), with who (the OS user on SQLite), where,
what, on which objects, the run to link to and the administrator's note (docs/audit.md)."""

from __future__ import annotations

import platform
from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core import actions, approvals, audit, run_decisions
from appupdater.core.devices import set_connection
from appupdater.core.fleetimport import export_file, import_file
from appupdater.core.planning import Selection, plan_update
from appupdater.core.rollback import plan_revert, plan_rollback
from appupdater.core.runs import CONFIG_ONLY, DeviceAction, apply_configuration, create_run
from appupdater.core.team_settings import (
    ApprovalPolicy,
    set_approval_policy,
    set_default_strategy,
)
from appupdater.core.waves import Strategy, parse_waves
from appupdater.core.webhooks import add_webhook, remove_webhook
from appupdater.store.models import DeployAction, Deployment, Device
from appupdater.store.team_models import AuditEntry
from tests.helpers import CATALOG
from tests.identities import act_as

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
PRESSES = ["press-01", "press-02", "press-03"]


@pytest.fixture
def alice(three_presses, monkeypatch):
    act_as(monkeypatch, "alice")


def last_id() -> int:
    return AuditEntry.select(AuditEntry.id).order_by(AuditEntry.id.desc()).scalar() or 0


def the_new_entry(since: int, user: str = "alice") -> AuditEntry:
    """The one entry written after `since`, by `user` on this host."""
    entries = list(AuditEntry.select().where(AuditEntry.id > since).order_by(AuditEntry.id))
    assert len(entries) == 1, [(e.action, e.outcome) for e in entries]
    [entry] = entries
    assert (entry.user, entry.os_user, entry.host) == (user, user, platform.node())
    return entry


def deployed(scheduled: bool = False, strategy: Strategy | None = None) -> int:
    plan = plan_update([Selection("line-monitor")])
    at = DeviceAction(DeployAction.AT, NOW + timedelta(hours=3))
    default = at if scheduled else DeviceAction(DeployAction.NOW)
    run_id = create_run(plan, approved_by="alice", default=default, now=NOW, strategy=strategy)
    apply_configuration(run_id, NOW)
    return run_id


def deployments(run_id: int) -> list[int]:
    query = Deployment.select(Deployment.id).join(Device).where(Deployment.run == run_id)
    return [d.id for d in query.order_by(Device.name)]


# -- runs: recorded, approved, requested, decided, expired ---------------------------------


def test_a_run_recorded_with_the_policy_off_is_its_approval(alice):
    mark = last_id()
    plan = plan_update([Selection("line-monitor")])
    run_id = create_run(plan, approved_by="alice", note="line 3 first", now=NOW)
    entry = the_new_entry(mark)
    assert (entry.action, entry.run, entry.note, entry.outcome) == (
        audit.APPROVE,
        run_id,
        "line 3 first",
        "done",
    )
    assert entry.objects == {"runs": [run_id]}
    assert entry.at == NOW


def test_request_approve_reject_and_expire(alice, monkeypatch):
    set_approval_policy(ApprovalPolicy(True), by="alice", now=NOW)
    plan = plan_update([Selection("line-monitor")])
    mark = last_id()
    first = create_run(plan, approved_by="alice", now=NOW)
    entry = the_new_entry(mark)
    assert (entry.action, entry.run, entry.objects) == (
        audit.REQUEST_APPROVAL,
        first,
        {"runs": [first]},
    )
    second = create_run(plan, approved_by="alice", now=NOW)
    third = create_run(plan, approved_by="alice", now=NOW)

    act_as(monkeypatch, "bob")
    mark = last_id()
    approvals.approve(first, note="checked the list", now=NOW + timedelta(minutes=5))
    entry = the_new_entry(mark, "bob")
    assert (entry.action, entry.run, entry.note, entry.outcome) == (
        audit.APPROVE,
        first,
        "checked the list",
        "done",
    )
    assert entry.objects == {"runs": [first]}

    mark = last_id()
    approvals.reject(second, note="one is enough", now=NOW + timedelta(minutes=6))
    entry = the_new_entry(mark, "bob")
    assert (entry.action, entry.run, entry.note) == (audit.REJECT, second, "one is enough")

    act_as(monkeypatch, "engine-host-user")  # expiry: the identity of the engine that saw it
    mark = last_id()
    assert approvals.expire_due(NOW + timedelta(hours=25)) == [third]
    entry = the_new_entry(mark, "engine-host-user")
    assert (entry.action, entry.run, entry.objects) == (audit.EXPIRE, third, {"runs": [third]})
    assert entry.note.startswith("expired") and "alice" in entry.note


# -- deployments: cancel, retry, deploy now, reschedule --------------------------------------


def test_cancel_and_retry_name_the_deployments_their_devices_and_run(alice):
    run_id = deployed()
    ids = deployments(run_id)
    mark = last_id()
    assert actions.cancel(ids, NOW) == (ids, [])
    entry = the_new_entry(mark)
    assert (entry.action, entry.run, entry.note, entry.outcome) == (
        audit.CANCEL,
        run_id,
        "",
        "done",
    )
    assert entry.objects == {"runs": [run_id], "deployments": ids, "devices": PRESSES}

    mark = last_id()
    assert actions.retry(ids[:2], NOW) == ids[:2]
    entry = the_new_entry(mark)
    assert (entry.action, entry.run) == (audit.RETRY, run_id)
    assert entry.objects == {"runs": [run_id], "deployments": ids[:2], "devices": PRESSES[:2]}


def test_deploy_now_and_reschedule(alice):
    run_id = deployed(scheduled=True)
    ids = deployments(run_id)
    later = NOW + timedelta(hours=5)
    mark = last_id()
    assert actions.reschedule(ids, later, NOW) == ids
    entry = the_new_entry(mark)
    assert (entry.action, entry.run, entry.note) == (
        audit.RESCHEDULE,
        run_id,
        "for 2026-11-28 14:00 UTC",
    )
    assert entry.objects["devices"] == PRESSES

    mark = last_id()
    assert actions.deploy_now(ids[:1], NOW) == ids[:1]
    entry = the_new_entry(mark)
    assert (entry.action, entry.run) == (audit.DEPLOY_NOW, run_id)
    assert entry.objects == {"runs": [run_id], "deployments": ids[:1], "devices": ["press-01"]}


def test_deployments_of_two_runs_link_to_neither(alice):
    first = deployed(scheduled=True)
    plan = plan_update([Selection("edge-gateway")])
    second = create_run(plan, approved_by="alice", now=NOW)
    apply_configuration(second, NOW)
    ids = deployments(first)[1:2] + deployments(second)  # press-02; press-01
    mark = last_id()
    actions.cancel(ids, NOW)
    entry = the_new_entry(mark)
    assert entry.run is None
    assert entry.objects["runs"] == [first, second]


# -- whole runs: pause, resume, abort, next wave -------------------------------------------


def test_pause_resume_next_wave_and_abort(alice):
    run_id = deployed(strategy=Strategy(parse_waves("1,rest"), 0, 50))
    expected = [
        (lambda: run_decisions.pause(run_id, "alice", NOW, " night shift "), audit.PAUSE),
        (lambda: run_decisions.resume(run_id, "alice", NOW), audit.RESUME),
        (lambda: run_decisions.next_wave(run_id, "alice", NOW), audit.NEXT_WAVE),
        (lambda: run_decisions.abort(run_id, "alice", NOW), audit.ABORT),
    ]
    for act, action in expected:
        mark = last_id()
        assert act().changed
        entry = the_new_entry(mark)
        assert (entry.action, entry.run, entry.outcome) == (action, run_id, "done")
        assert entry.objects == {"runs": [run_id]}
        if action == audit.PAUSE:
            assert entry.note == "night shift"
        if action == audit.ABORT:
            assert entry.note == "3 deployments cancelled"


# -- rollback and revert ---------------------------------------------------------------------


def test_rollback_names_the_run_it_rolls_back(alice):
    run_id = deployed()
    mark = last_id()
    rollback = create_run(plan_rollback(run_id), approved_by="alice", default=CONFIG_ONLY)
    entry = the_new_entry(mark)
    assert (entry.action, entry.run, entry.note) == (
        audit.ROLLBACK,
        rollback,
        f"rollback of run #{run_id}",
    )
    assert entry.objects == {"runs": [rollback, run_id]}


def test_revert_names_the_device(alice):
    deployed()
    device = Device.get(Device.name == "press-03")
    mark = last_id()
    revert = create_run(plan_revert(device.id, 1), approved_by="alice", default=CONFIG_ONLY)
    entry = the_new_entry(mark)
    assert (entry.action, entry.run) == (audit.ROLLBACK, revert)
    assert entry.objects == {"runs": [revert], "devices": ["press-03"]}
    assert entry.note.startswith("revert")


# -- import, export, connection, settings, webhooks -----------------------------------------


def test_import_names_the_file_and_what_changed(alice, tmp_path):
    path = tmp_path / "more.yaml"
    path.write_text(
        CATALOG
        + "devices:\n  - {name: press-04, applications: {line-monitor: {configured: '1.0.0'}}}\n"
        + "  - {name: press-05, applications: {line-monitor: {configured: '1.0.0'}}}\n"
    )
    mark = last_id()
    import_file(path)
    entry = the_new_entry(mark)
    assert (entry.action, entry.run, entry.outcome) == (audit.IMPORT, None, "done")
    assert entry.objects == {"file": [str(path)]}
    assert entry.note == "2 devices added, 2 device application versions set"


def test_export_names_the_file_and_the_device_count(alice, tmp_path):
    path = tmp_path / "fleet.yaml"
    mark = last_id()
    assert export_file(path) == 3
    entry = the_new_entry(mark)
    assert (entry.action, entry.objects, entry.note) == (
        audit.EXPORT,
        {"file": [str(path)]},
        "3 devices",
    )


def test_a_connection_change_never_records_the_token(alice):
    device = Device.get(Device.name == "press-02")
    token = "s3cret-token-0123456789"
    mark = last_id()
    set_connection(device.id, "https://10.0.3.7:8443", token=token)
    entry = the_new_entry(mark)
    assert (entry.action, entry.objects) == (audit.CONNECTION, {"devices": ["press-02"]})
    assert entry.note == "endpoint none → https://10.0.3.7:8443; token changed"
    mark = last_id()
    set_connection(device.id, "https://10.0.3.8:8443")
    assert the_new_entry(mark).note == (
        "endpoint https://10.0.3.7:8443 → https://10.0.3.8:8443; token unchanged"
    )
    mark = last_id()
    set_connection(device.id, "https://10.0.3.8:8443", token="")
    assert the_new_entry(mark).note == "endpoint https://10.0.3.8:8443; token removed"
    assert not any(token in str(tuple(e)) for e in AuditEntry.select().tuples())


def test_settings_changes_name_the_setting_and_its_new_value(alice):
    mark = last_id()
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=8)), by="alice")
    entry = the_new_entry(mark)
    assert (entry.action, entry.objects) == (audit.SETTINGS, {"settings": ["second_approver"]})
    assert entry.note == "second approver turned on: requests expire after 8 hours"
    mark = last_id()
    set_approval_policy(ApprovalPolicy(False), by="alice")
    assert the_new_entry(mark).note.startswith("second approver turned off")
    mark = last_id()
    set_default_strategy(Strategy(parse_waves("1,10%,rest"), 30, 10), by="alice")
    entry = the_new_entry(mark)
    assert entry.objects == {"settings": ["default_strategy"]}
    assert (
        entry.note == "default strategy: waves 1,10%,rest, soak 30 minutes, pause above 10 % failed"
    )


def test_webhooks_are_recorded_redacted_and_never_with_their_secret(alice):
    mark = last_id()
    hook = add_webhook(
        "https://hooks.example.com/x?token=abc", secret="hush-hush", events="run.completed"
    )
    entry = the_new_entry(mark)
    assert (entry.action, entry.objects) == (audit.WEBHOOK_ADD, {"webhooks": [hook]})
    assert entry.note == "https://hooks.example.com/… (run.completed; signed)"
    mark = last_id()
    remove_webhook(hook)
    entry = the_new_entry(mark)
    assert (entry.action, entry.note) == (audit.WEBHOOK_REMOVE, "https://hooks.example.com/…")
    stored = str(list(AuditEntry.select().tuples()))
    assert "hush-hush" not in stored and "abc" not in stored
