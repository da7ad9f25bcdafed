"""Refused actions and failed ones (docs/audit.md, "Refused actions"): an action refused as a
whole leaves one entry "refused: <what the person was told>", written on its own after the
action's transaction rolled back; one that partly applies leaves one "done" entry naming only
what it changed, with how many it skipped; an action whose transaction fails leaves none."""

from __future__ import annotations

from datetime import timedelta

import peewee
import pytest

from appupdater.core import actions, approvals, audit, run_decisions
from appupdater.core.devices import set_connection
from appupdater.core.fleetexport import export_file
from appupdater.core.fleetimport import import_file
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.core.webhooks import WebhookError, add_webhook
from appupdater.errors import DeviceSettingError, FleetFileError, RunError
from appupdater.store.models import Deployment, Device, UpdateRun
from appupdater.store.team_models import AuditEntry
from tests.core.test_audit_actions import (
    NOW,
    alice,
    deployed,
    deployments,
    last_id,
    the_new_entry,
)
from tests.helpers import dump_tables
from tests.identities import act_as

__all__ = ["alice"]  # a fixture, used by name


def test_cancel_of_a_finished_deployment_is_refused(alice):
    run_id = deployed()
    [first, *_] = deployments(run_id)
    Deployment.update(state="succeeded").where(Deployment.id == first).execute()
    mark = last_id()
    assert actions.cancel([first], NOW) == ([], [])
    entry = the_new_entry(mark)
    assert (entry.action, entry.run) == (audit.CANCEL, run_id)
    assert (
        entry.outcome == "refused: nothing to cancel: the selected deployment had already finished"
    )
    assert entry.objects == {"runs": [run_id], "deployments": [first], "devices": ["press-01"]}
    assert Deployment.get_by_id(first).state == "succeeded"


def test_a_cancel_that_partly_applies_names_what_it_changed(alice):
    run_id = deployed()
    ids = deployments(run_id)
    Deployment.update(state="succeeded").where(Deployment.id == ids[0]).execute()
    mark = last_id()
    assert actions.cancel(ids, NOW) == (ids[1:], [])
    entry = the_new_entry(mark)
    assert (entry.action, entry.outcome) == (audit.CANCEL, "done")
    assert entry.objects == {
        "runs": [run_id],
        "deployments": ids[1:],
        "devices": ["press-02", "press-03"],
    }
    assert entry.note == "1 other deployment skipped (it had already finished)"


def test_the_requester_approving_their_own_run_is_refused(alice):
    set_approval_policy(ApprovalPolicy(True), by="alice", now=NOW)
    run_id = create_run(plan_update([Selection("line-monitor")]), approved_by="alice", now=NOW)
    mark = last_id()
    with pytest.raises(RunError, match=r"you \(alice\) asked") as info:
        approvals.approve(run_id, note="looks fine", now=NOW)
    entry = the_new_entry(mark)
    assert (entry.action, entry.run, entry.note) == (audit.APPROVE, run_id, "looks fine")
    assert entry.outcome == audit.refused(str(info.value))
    assert UpdateRun.get_by_id(run_id).approval == "awaiting"
    who_tried = AuditEntry.select().where(
        (AuditEntry.action == audit.APPROVE) & AuditEntry.outcome.startswith("refused: you")
    )
    assert [e.user for e in who_tried] == ["alice"]


def test_an_expired_request_approved_is_refused(alice, monkeypatch):
    set_approval_policy(ApprovalPolicy(True), by="alice", now=NOW)
    run_id = create_run(plan_update([Selection("line-monitor")]), approved_by="alice", now=NOW)
    later = NOW + timedelta(hours=30)
    approvals.expire_due(later)  # the engine's step
    act_as(monkeypatch, "bob")
    mark = last_id()
    with pytest.raises(RunError, match="expired"):
        approvals.approve(run_id, now=later)
    entry = the_new_entry(mark, "bob")
    assert entry.outcome.startswith(f"refused: run #{run_id} is expired")


def test_pause_of_a_finished_run_and_of_no_run_are_refused(alice):
    run_id = deployed()
    actions.cancel(deployments(run_id), NOW)
    mark = last_id()
    decision = run_decisions.pause(run_id, "alice", NOW, "why not")
    assert not decision.changed
    entry = the_new_entry(mark)
    assert (entry.action, entry.run, entry.note) == (audit.PAUSE, run_id, "why not")
    assert entry.outcome == f"refused: {decision.message}"
    mark = last_id()
    with pytest.raises(RunError, match="no run #999"):
        run_decisions.abort(999, "alice", NOW)
    entry = the_new_entry(mark)
    assert (entry.action, entry.objects, entry.outcome) == (
        audit.ABORT,
        {"runs": [999]},
        "refused: there is no run #999",
    )


def test_a_file_with_mistakes_is_refused_and_imports_nothing(alice, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("devices:\n  - {name: x, applications: {nothing: {configured: '1.0'}}}\n")
    before = dump_tables()
    mark = last_id()
    with pytest.raises(FleetFileError):
        import_file(path)
    entry = the_new_entry(mark)
    assert (entry.action, entry.objects) == (audit.IMPORT, {"file": [str(path)]})
    assert entry.outcome.startswith("refused: ") and "bad.yaml" in entry.outcome
    assert dump_tables() == before
    for unreadable in ("applications: [\n  - name: x\n", None):  # not YAML; no file at all
        broken = tmp_path / "broken.yaml"
        broken.unlink(missing_ok=True)
        if unreadable is not None:
            broken.write_text(unreadable)
        mark = last_id()
        with pytest.raises(FleetFileError):
            import_file(broken)
        assert the_new_entry(mark).objects == {"file": [str(broken)]}


def test_a_read_only_database_exports_and_logs_that_it_could_not_record_it(
    alice, tmp_path, monkeypatch, caplog
):
    def read_only(*args, **kwargs):
        raise peewee.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(audit, "record", read_only)
    target = tmp_path / "fleet.yaml"
    assert export_file(target) == 3 and target.exists()
    assert "could not be recorded in the audit trail" in caplog.text


def test_refused_connection_and_webhook_keep_their_secrets_out(alice):
    device = Device.get(Device.name == "press-01")
    mark = last_id()
    with pytest.raises(DeviceSettingError):
        set_connection(device.id, "https://10.0.3.7:8443", token="tiny-secret")
    entry = the_new_entry(mark)
    assert (entry.action, entry.objects) == (audit.CONNECTION, {"devices": ["press-01"]})
    assert entry.outcome == "refused: a token must have at least 16 characters"
    mark = last_id()
    with pytest.raises(WebhookError):
        add_webhook("ftp://me:pa55word@files.example.com/in", secret="hush")
    entry = the_new_entry(mark)
    assert entry.action == audit.WEBHOOK_ADD
    assert entry.outcome.startswith("refused: a webhook URL must start with http")
    mark = last_id()
    with pytest.raises(DeviceSettingError, match="must be only scheme, host and port"):
        set_connection(device.id, "https://admin:S3cretPW@10.0.3.7:8443", token="x" * 20)
    assert the_new_entry(mark).outcome.startswith("refused: endpoint https://…@10.0.3.7:8443 ")
    mark = last_id()
    with pytest.raises(WebhookError, match="contains a space or a control character"):
        add_webhook("https://hooks.slack.com/services/T0/B0/SUPERSECRET\tTOKEN")
    assert the_new_entry(mark).outcome == (
        "refused: the webhook URL https://hooks.slack.com/… contains a space or a control character"
    )
    stored = str(list(AuditEntry.select().tuples()))
    for secret in ("tiny-secret", "pa55word", "hush", "S3cretPW", "SUPERSECRET"):
        assert secret not in stored


def test_a_refusal_the_database_cannot_take_still_says_why(alice, monkeypatch):
    """Locked, read-only, or a role without INSERT: the person reads why they were refused."""
    device = Device.get(Device.name == "press-01")
    mark = last_id()

    def locked(*args, **kwargs):
        raise peewee.OperationalError("database is locked")

    monkeypatch.setattr(audit, "record", locked)
    with pytest.raises(DeviceSettingError, match="must start with https://"):
        set_connection(device.id, "ftp://10.0.3.7:8443", token="x" * 20)
    assert last_id() == mark


def failing_after(monkeypatch, name: str) -> None:
    """`audit.<name>` writes its entry, then the action's transaction fails."""
    original = getattr(audit, name)

    def fail(*args, **kwargs):
        original(*args, **kwargs)
        raise peewee.OperationalError("disk I/O error")

    monkeypatch.setattr(audit, name, fail)


def test_an_action_whose_transaction_fails_leaves_no_entry(alice, monkeypatch):
    run_id = deployed()
    ids = deployments(run_id)
    failing_after(monkeypatch, "record")
    mark = last_id()
    with pytest.raises(peewee.OperationalError):
        actions.cancel(ids, NOW)
    assert last_id() == mark
    assert {Deployment.get_by_id(d).state for d in ids} == {"queued"}


def test_a_run_whose_transaction_fails_leaves_no_entry_and_no_run(alice, monkeypatch):
    failing_after(monkeypatch, "record_new_run")
    runs, mark = UpdateRun.select().count(), last_id()
    with pytest.raises(peewee.OperationalError):
        create_run(plan_update([Selection("line-monitor")]), approved_by="alice", now=NOW)
    assert (UpdateRun.select().count(), last_id()) == (runs, mark)


def test_a_setting_that_cannot_be_used_is_refused(alice):
    mark = last_id()
    with pytest.raises(ValueError, match="at most 720 hours"):
        set_approval_policy(ApprovalPolicy(True, timedelta(days=60)), by="alice")
    entry = the_new_entry(mark)
    assert (entry.action, entry.objects) == (audit.SETTINGS, {"settings": ["second_approver"]})
    assert entry.outcome.startswith("refused: a request for approval must expire after")
