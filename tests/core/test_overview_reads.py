"""What the overview reads: changes by revision, and the per-run target summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appupdater.core import actions
from appupdater.core.overview import deployment_rows, newest_revision, target_summaries
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction, apply_configuration, create_run
from appupdater.store.models import DeployAction, Deployment, Device
from appupdater.store.revisions import current_revision

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def approve(actions=None) -> int:
    plan = plan_update([Selection("line-monitor", "2.0.0"), Selection("edge-gateway", "3.10")])
    run_id = create_run(plan, approved_by="test", actions=actions, now=NOW)
    apply_configuration(run_id, now=NOW)
    return run_id


def test_a_poll_reads_exactly_what_changed_whatever_the_clocks_say(three_presses):
    before = current_revision()
    run_id = approve()
    created = deployment_rows(None, before)
    assert {r.run for r in created} == {run_id} and len(created) == 3
    seen = newest_revision(created, before)
    assert seen == current_revision() > before
    assert deployment_rows(None, seen) == []  # nothing new: nothing read
    # a writer whose clock is an hour behind (another workstation) is still seen, and only the
    # rows it changed come back
    press_01 = next(r for r in created if r.device == "press-01")
    assert actions.cancel([press_01.id], NOW - timedelta(hours=1))[0] == [press_01.id]
    changed = deployment_rows(None, seen)
    assert [(r.id, r.state) for r in changed] == [(press_01.id, "cancelled")]
    # a refused change (already cancelled) writes nothing, so nothing is read
    seen = newest_revision(changed, seen)
    assert actions.cancel([press_01.id], NOW) == ([], [])
    assert deployment_rows(None, seen) == []
    # the full read carries the same revisions
    assert {r.id: r.revision for r in deployment_rows(run_id)} == {
        d.id: d.revision for d in Deployment.select()
    }


def test_target_summaries_per_run_and_device(three_presses):
    press_03 = Device.get(Device.name == "press-03").id
    run_id = approve({press_03: DeviceAction(DeployAction.AT, NOW + timedelta(days=1))})
    names = {d.device_id: d.device for d in deployment_rows(run_id)}
    summary = target_summaries([run_id])
    assert set(summary) == {run_id}
    by_name = {names[device]: value for device, value in summary[run_id].items()}
    # press-01 updates both applications: named in order; the others only line-monitor
    assert by_name["press-01"] == ("edge-gateway, line-monitor", "now")
    assert by_name["press-02"] == ("line-monitor", "now")
    assert by_name["press-03"] == ("line-monitor", "at")
    assert target_summaries([run_id + 1]) == {}
