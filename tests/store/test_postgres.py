"""The same models, planning and run recording on PostgreSQL (skipped where no server exists)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core.fleetimport import fleet_document
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction, apply_configuration, create_run
from appupdater.demo.fleet import load_demo
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import DeployAction, Deployment, Target, UpdateRun

pytestmark = pytest.mark.integration


def test_schema_plan_and_run_on_postgres(pg):
    assert schema_version(pg) == latest_version()
    load_demo(devices=60, seed=5)
    assert not load_demo(devices=60, seed=5).changed_anything
    plan = plan_update([Selection("line-monitor"), Selection("edge-gateway", "4.0.0")])
    assert plan.targets
    first = plan.devices()[0].id
    at = datetime.now(UTC) + timedelta(hours=1)
    run_id = create_run(plan, {first: DeviceAction(DeployAction.AT, at)}, approved_by="pg")
    assert Target.select().where(Target.run == run_id).count() == len(plan.targets)
    applied = apply_configuration(run_id)
    assert applied.deployments_created == len(plan.devices())
    scheduled = Deployment.get(Deployment.device == first)
    assert scheduled.state == "scheduled"
    assert abs(scheduled.scheduled_at - at) < timedelta(milliseconds=1)
    assert apply_configuration(run_id).already_applied
    assert UpdateRun.get_by_id(run_id).configured_at.tzinfo == UTC
    # after the run, nothing is behind for line-monitor any more in configuration
    again = plan_update([Selection("line-monitor")])
    assert all(
        t.configured is None
        or t.configured.text == t.to_version.text
        or t.installed.parsed < t.to_version.parsed
        for t in again.targets
    )
    assert len(fleet_document()["devices"]) == 60
