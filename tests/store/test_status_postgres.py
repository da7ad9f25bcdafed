"""`status --json` reads its times raw; PostgreSQL gives them as naive datetimes, SQLite as
text: both come out as the same ISO 8601 UTC text (skipped where no server exists)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction, apply_configuration, create_run
from appupdater.core.status import status_document
from appupdater.demo.fleet import load_demo
from appupdater.store.models import DeployAction

pytestmark = pytest.mark.integration


def test_status_times_on_postgres(pg):
    load_demo(devices=10, seed=5)
    plan = plan_update([Selection("line-monitor")])
    first = plan.devices()[0]
    at = datetime(2099, 1, 1, 9, 30, tzinfo=UTC)
    run_id = create_run(plan, {first.id: DeviceAction(DeployAction.AT, at)}, approved_by="pg")
    apply_configuration(run_id)
    by_device = {d["device"]: d for d in status_document(run_id)["deployments"]}
    scheduled = by_device[first.name]
    assert (scheduled["action"], scheduled["scheduled_at"]) == ("at", "2099-01-01T09:30:00+00:00")
    others = [d for name, d in by_device.items() if name != first.name]
    assert others and all(d["action"] == "now" and d["scheduled_at"] is None for d in others)
    assert datetime.fromisoformat(status_document(run_id)["runs"][0]["approved_at"]) > (
        datetime.now(UTC) - timedelta(minutes=5)
    )
