"""What the overview reads: changes by revision, and the per-run target summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appupdater.core import actions
from appupdater.core.overview import (
    deployment_rows,
    newest_revision,
    released_early,
    target_summaries,
)
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction, apply_configuration, create_run
from appupdater.core.scheduling import claim
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


def test_a_deployment_released_before_its_time_is_told_from_its_row(three_presses):
    at = NOW + timedelta(days=1)
    scheduled = {
        Device.get(Device.name == name).id: DeviceAction(DeployAction.AT, at)
        for name in ("press-02", "press-03")
    }
    run_id = approve(scheduled)
    rows = {r.device: r for r in deployment_rows(run_id)}
    press_02, press_03 = rows["press-02"], rows["press-03"]
    assert released_early(press_02, "at", NOW) is None  # still waits for its time
    assert released_early(rows["press-01"], "now", NOW) is None  # never had a time
    # the administrator deploys press-02 now and cancels press-03 before its time
    later = NOW + timedelta(minutes=5)
    assert actions.deploy_now([press_02.id], later) == [press_02.id]
    assert actions.cancel([press_03.id], later)[0] == [press_03.id]
    rows = {r.device: r for r in deployment_rows(run_id)}
    assert released_early(rows["press-02"], "at", later) == at
    assert released_early(rows["press-03"], "at", later) is None  # cancelled, never started
    # once it started early it stays told, whatever the time now
    jobs = claim("engine-a", later + timedelta(seconds=1), limit=5)
    assert press_02.id in {job.id for job in jobs}
    started = next(r for r in deployment_rows(run_id) if r.id == press_02.id)
    assert started.state == "running"
    assert released_early(started, "at", at + timedelta(days=3)) == at
    # retried press-03 is queued at once, before its time: released too
    assert actions.retry([press_03.id], later) == [press_03.id]
    retried = next(r for r in deployment_rows(run_id) if r.id == press_03.id)
    assert released_early(retried, "at", later) == at
