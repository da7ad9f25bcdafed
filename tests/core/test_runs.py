from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import (
    CONFIG_ONLY,
    DeviceAction,
    apply_configuration,
    create_run,
)
from appupdater.errors import RunError
from appupdater.store.models import (
    DeployAction,
    Deployment,
    DeploymentEvent,
    Device,
    DeviceApp,
    RunApplication,
    Target,
    UpdateRun,
)
from tests.helpers import dump_tables

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def device_id(name):
    return Device.get(Device.name == name).id


def configured(name, app):
    row = (
        DeviceApp.select()
        .join(Device)
        .where(Device.name == name)
        .switch(DeviceApp)
        .join_from(DeviceApp, DeviceApp.application.rel_model)
        .where(DeviceApp.application.rel_model.name == app)
        .get()
    )
    return row.configured.version


def test_create_run_records_run_and_targets(three_presses):
    plan = plan_update([Selection("line-monitor", "2.0.0"), Selection("edge-gateway")])
    at = NOW + timedelta(hours=2)
    run_id = create_run(
        plan,
        {
            device_id("press-02"): DeviceAction(DeployAction.AT, at),
            device_id("press-03"): CONFIG_ONLY,
        },
        approved_by="alice",
        now=NOW,
    )
    run = UpdateRun.get_by_id(run_id)
    assert (run.approved_by, run.approved_at, run.configured_at) == ("alice", NOW, None)
    assert {(r.application.name, r.to_version.version) for r in RunApplication.select()} == {
        ("line-monitor", "2.0.0"),
        ("edge-gateway", "3.10"),
    }
    targets = {(t.device.name, t.application.name): t for t in Target.select()}
    assert set(targets) == {
        ("press-01", "line-monitor"),
        ("press-01", "edge-gateway"),
        ("press-02", "line-monitor"),
        ("press-03", "line-monitor"),
    }
    assert targets["press-01", "edge-gateway"].action == "now"
    assert targets["press-02", "line-monitor"].from_version.version == "1.5.0"
    assert targets["press-02", "line-monitor"].scheduled_at == at
    assert targets["press-03", "line-monitor"].action == "none"
    # recording changes no configuration and creates no deployment yet
    assert configured("press-01", "line-monitor") == "1.0.0"
    assert Deployment.select().count() == 0


def test_apply_configuration_then_deployments_once(three_presses):
    plan = plan_update([Selection("line-monitor", "2.0.0"), Selection("edge-gateway")])
    at = NOW + timedelta(days=1)
    run_id = create_run(
        plan,
        {
            device_id("press-02"): DeviceAction(DeployAction.AT, at),
            device_id("press-03"): CONFIG_ONLY,
        },
        approved_by="alice",
        now=NOW,
    )
    applied = apply_configuration(run_id, now=NOW)
    assert (applied.configurations_updated, applied.deployments_created) == (4, 2)
    assert configured("press-01", "line-monitor") == "2.0.0"
    assert configured("press-01", "edge-gateway") == "3.10"
    assert configured("press-03", "line-monitor") == "2.0.0"
    deployments = {d.device.name: d for d in Deployment.select()}
    # one deployment per device, even with two applications; none for "do not deploy"
    assert set(deployments) == {"press-01", "press-02"}
    assert deployments["press-01"].state == "queued"
    assert deployments["press-02"].state == "scheduled"
    assert deployments["press-02"].scheduled_at == at
    assert DeploymentEvent.select().count() == 2
    assert (
        "scheduled for"
        in DeploymentEvent.get(DeploymentEvent.deployment == deployments["press-02"]).message
    )
    assert UpdateRun.get_by_id(run_id).configured_at == NOW

    before = dump_tables()
    again = apply_configuration(run_id, now=NOW + timedelta(minutes=5))
    assert again.already_applied
    assert dump_tables() == before


def test_apply_never_downgrades_a_newer_configuration(three_presses):
    plan = plan_update([Selection("line-monitor", "2.0.0")])
    run_id = create_run(plan, approved_by="alice", now=NOW)
    # meanwhile press-03 was configured past the target
    newer = plan_update([Selection("line-monitor")])
    later = create_run(newer, approved_by="bob", devices=[device_id("press-03")], now=NOW)
    apply_configuration(later, now=NOW)
    assert configured("press-03", "line-monitor") == "2.1.0-rc.1"
    applied = apply_configuration(run_id, now=NOW)
    assert configured("press-03", "line-monitor") == "2.1.0-rc.1"
    assert applied.configurations_updated == 2


def test_past_time_is_rejected_naming_the_device(three_presses):
    plan = plan_update([Selection("line-monitor")])
    before = dump_tables()
    with pytest.raises(RunError, match=r"in the past for press-02 \(2026-11-27 \d\d:00\)"):
        create_run(
            plan,
            {device_id("press-02"): DeviceAction(DeployAction.AT, NOW - timedelta(minutes=30))},
            approved_by="alice",
            now=NOW,
        )
    assert dump_tables() == before


def test_device_subset_and_empty_selection(three_presses):
    plan = plan_update([Selection("line-monitor")])
    run_id = create_run(plan, approved_by="alice", devices=[device_id("press-03")], now=NOW)
    assert [t.device.name for t in Target.select().where(Target.run == run_id)] == ["press-03"]
    with pytest.raises(RunError, match="no devices selected"):
        create_run(plan, approved_by="alice", devices=[], now=NOW)


def test_failed_write_leaves_nothing(three_presses, monkeypatch):
    plan = plan_update([Selection("line-monitor")])
    before = dump_tables()

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("appupdater.core.runs.insert_rows", broken)
    with pytest.raises(RuntimeError):
        create_run(plan, approved_by="alice", now=NOW)
    assert dump_tables() == before


def test_actions_need_aware_times():
    with pytest.raises(ValueError, match="timezone-aware"):
        DeviceAction(DeployAction.AT, datetime(2030, 1, 1))
    with pytest.raises(ValueError):
        DeviceAction(DeployAction.NOW, NOW)


def test_the_plan_shows_each_devices_pending_deployment(three_presses):
    """A scheduled deployment of run 1 is in the next plan, by device, with its time and run;
    a device without one has none."""
    at = NOW + timedelta(hours=8)
    plan = plan_update([Selection("line-monitor")])
    run_id = create_run(
        plan,
        {device_id("press-02"): DeviceAction(DeployAction.AT, at)},
        approved_by="alice",
        devices=[device_id("press-02")],
        now=NOW,
    )
    apply_configuration(run_id, now=NOW)
    pending = plan_update([Selection("line-monitor")]).pending
    assert set(pending) == {device_id("press-02")}
    entry = pending[device_id("press-02")]
    assert (entry.run_id, entry.state, entry.at, entry.supersedable) == (
        run_id,
        "scheduled",
        at,
        True,
    )
