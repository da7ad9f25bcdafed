"""The overview's changes pane: what a deployment does to its device."""

from __future__ import annotations

from datetime import UTC, datetime

from appupdater.core.along import ALONG_NOTE
from appupdater.core.carried import carried_changes
from appupdater.core.planning import ChangeOp, Selection, plan_update
from appupdater.core.runs import apply_configuration, create_run
from appupdater.store.models import AppVersion, Deployment, Device, DeviceApp

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def test_a_deployment_shows_the_change_from_what_the_device_runs(three_presses):
    """press-02 is configured 1.5.0 but runs 1.0.0: its deployment to 2.1.0-rc.1 shows the
    change from 1.0.0 and says where the configuration was — also after it ended, when the
    device reports the target."""
    press_02 = Device.get(Device.name == "press-02").id
    plan = plan_update([Selection("line-monitor")])
    run_id = create_run(plan, approved_by="alice", devices=[press_02], now=NOW)
    apply_configuration(run_id, now=NOW)
    deployment = Deployment.get(Deployment.run == run_id).id
    [carried] = carried_changes(deployment)
    assert (carried.application, carried.start, carried.end) == (
        "line-monitor",
        "1.0.0",
        "2.1.0-rc.1",
    )
    assert carried.note == "Configuration was at 1.5.0; the device runs 1.0.0."
    collector = next(c for c in carried.changes if c.module == "collector")
    assert (collector.op, collector.from_version) == (ChangeOp.MODIFIED, "1.0.0")
    # ended: the device now runs the target; the pane still shows what the deployment did
    target = AppVersion.get(AppVersion.version == "2.1.0-rc.1").id
    DeviceApp.update(installed=target).where(DeviceApp.device == press_02).execute()
    Deployment.update(state="succeeded").where(Deployment.id == deployment).execute()
    [after] = carried_changes(deployment)
    assert (after.start, after.changes) == ("1.0.0", carried.changes)
    assert after.note == "Configuration was at 1.5.0; the device ran 1.0.0."


def test_where_configuration_and_device_agree_there_is_no_note(three_presses):
    press_03 = Device.get(Device.name == "press-03").id
    plan = plan_update([Selection("line-monitor")])
    run_id = create_run(plan, approved_by="alice", devices=[press_03], now=NOW)
    apply_configuration(run_id, now=NOW)
    [carried] = carried_changes(Deployment.get(Deployment.run == run_id).id)
    assert (carried.start, carried.note) == ("1.0.0", "")


def test_an_open_deployment_also_shows_what_it_pushes_along(three_presses):
    """press-01's edge-gateway is configured 3.10 while it runs 3.9: its line-monitor
    deployment pushes edge-gateway 3.10 too, and says so until it ended (the device runs it
    then; the event log has what the device did)."""
    press_01 = Device.get(Device.name == "press-01").id
    gateway_310 = AppVersion.get(AppVersion.version == "3.10")
    DeviceApp.update(configured=gateway_310.id).where(
        (DeviceApp.device == press_01) & (DeviceApp.application == gateway_310.application)
    ).execute()
    run_id = create_run(
        plan_update([Selection("line-monitor")]), approved_by="alice", devices=[press_01], now=NOW
    )
    apply_configuration(run_id, now=NOW)
    deployment = Deployment.get(Deployment.run == run_id).id
    own, along = carried_changes(deployment)
    assert own.application == "line-monitor"
    assert (along.application, along.start, along.end, along.note) == (
        "edge-gateway",
        "3.9",
        "3.10",
        ALONG_NOTE,
    )
    assert [(c.module, c.op) for c in along.changes] == [("broker", ChangeOp.MODIFIED)]
    Deployment.update(state="succeeded").where(Deployment.id == deployment).execute()
    assert [c.application for c in carried_changes(deployment)] == ["line-monitor"]


def test_a_running_deployment_shows_no_configuration_made_after_it_started(three_presses):
    """Configured while the attempt runs: that attempt pushes what it loaded when it started
    (its event log names what it also pushes); nothing configured since is shown going with
    it."""
    press_01 = Device.get(Device.name == "press-01").id
    run_id = create_run(
        plan_update([Selection("line-monitor")]), approved_by="alice", devices=[press_01], now=NOW
    )
    apply_configuration(run_id, now=NOW)
    deployment = Deployment.get(Deployment.run == run_id).id
    Deployment.update(state="running").where(Deployment.id == deployment).execute()
    gateway_310 = AppVersion.get(AppVersion.version == "3.10")
    DeviceApp.update(configured=gateway_310.id).where(
        (DeviceApp.device == press_01) & (DeviceApp.application == gateway_310.application)
    ).execute()
    assert [c.application for c in carried_changes(deployment)] == ["line-monitor"]


def test_an_import_after_the_approval_is_shown_left_out(three_presses, monkeypatch):
    """With the second approver, an import after the approval does not go with the waiting
    deployment (core/approved_config.py): the pane says it is left out, and why."""
    from datetime import timedelta

    from appupdater.core import approvals
    from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
    from tests.helpers import load_yaml
    from tests.identities import act_as

    press_01 = Device.get(Device.name == "press-01").id
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin")
    act_as(monkeypatch, "alice")
    run_id = create_run(
        plan_update([Selection("line-monitor")]), approved_by="alice", devices=[press_01]
    )
    act_as(monkeypatch, "bob")
    approvals.approve(run_id)
    load_yaml(
        "devices:\n  - {name: press-01, applications: {edge-gateway: {configured: '3.10'}}}\n",
        file="later.yaml",
    )
    deployment = Deployment.get(Deployment.run == run_id).id
    own, left = carried_changes(deployment)
    assert own.application == "line-monitor"
    assert (left.application, left.start, left.end, left.changes) == (
        "edge-gateway",
        "3.9",
        "not pushed",
        (),
    )
    assert left.note == (
        "3.10 was configured after the run was approved (import of later.yaml): this "
        "deployment leaves it out; a later approved run carries it."
    )
