"""What a deployment also pushes: the device's other applications whose configuration is not
what it runs. The preview (plan.along with the run's own targets) must be exactly what the
deployment's job carries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appupdater.core.jobs import load_jobs
from appupdater.core.plan_report import plan_json, plan_text
from appupdater.core.planning import ChangeOp, Selection, plan_update
from appupdater.core.rollback import plan_rollback
from appupdater.core.runs import DeviceAction, apply_configuration, create_run
from appupdater.demo.fleet import load_demo
from appupdater.store.models import DeployAction, Deployment, Device, DeviceApp
from tests.helpers import CATALOG, devices_yaml, load_yaml

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@pytest.fixture
def carrying(db):
    """press-01: edge-gateway configured 3.10 but running 3.9 (set without a deployment);
    press-02: edge-gateway never reported; press-03: edge-gateway as configured."""
    load_yaml(
        CATALOG
        + devices_yaml(
            "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
            " edge-gateway: {configured: '3.10', installed: '3.9'}}}",
            "{name: press-02, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
            " edge-gateway: {configured: '3.9'}}}",
            "{name: press-03, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
            " edge-gateway: {configured: '3.9', installed: '3.9'}}}",
        )
    )


def _id(name: str) -> int:
    return Device.get(Device.name == name).id


def test_a_plan_lists_what_each_deployment_also_pushes(carrying):
    plan = plan_update([Selection("line-monitor", "2.0.0")])
    assert set(plan.along) == {_id("press-01"), _id("press-02")}
    [gateway] = plan.along[_id("press-01")]
    assert (gateway.application, gateway.from_text, gateway.configured.text) == (
        "edge-gateway",
        "3.9",
        "3.10",
    )
    assert [(c.module, c.op, c.from_version, c.to_version) for c in gateway.changes] == [
        ("broker", ChangeOp.MODIFIED, "2.0", "2.1")
    ]
    # never reported: the configured version's modules arrive as added
    [unknown] = plan.along[_id("press-02")]
    assert unknown.from_text == "—"
    assert [(c.module, c.op) for c in unknown.changes] == [("broker", ChangeOp.ADDED)]


def test_the_run_s_own_application_is_not_listed_again(carrying):
    """A plan for edge-gateway itself: press-01's change is the run's own, not carried."""
    plan = plan_update([Selection("edge-gateway", "3.10")])
    assert _id("press-01") not in plan.along
    assert {t.device.name for t in plan.targets} >= {"press-03"}


def test_what_the_preview_shows_is_what_the_job_pushes(db):
    """On the demo fleet (15 % of its applications configured ahead of what devices run): for
    every deployed device, the applications whose version the job changes on the device are
    exactly the run's targets plus plan.along, at the versions shown."""
    load_demo(devices=300, seed=11)
    plan = plan_update([Selection("line-monitor")])
    assert plan.along, "the demo fleet has devices configured ahead on other applications"
    run_id = create_run(plan, approved_by="alice", now=NOW)
    apply_configuration(run_id, now=NOW)
    deployments = dict(
        Deployment.select(Deployment.device, Deployment.id).where(Deployment.run == run_id).tuples()
    )
    installed = {
        (d, a): i
        for d, a, i in DeviceApp.select(
            DeviceApp.device, DeviceApp.application, DeviceApp.installed
        ).tuples()
    }
    shown: dict[int, dict[str, str]] = {}
    for t in plan.targets:
        shown.setdefault(t.device.id, {})[t.app.name] = t.to_version.text
    for device_id, along in plan.along.items():
        for change in along:
            shown.setdefault(device_id, {})[change.application] = change.configured.text
    jobs = load_jobs(sorted(deployments.values()), "test")
    assert len(jobs) == len(deployments) > 0
    for job in jobs:
        pushed = {
            app.application: app.version
            for app in job.config
            if installed.get((job.device_id, app.application_id)) != app.version_id
        }
        assert pushed == shown[job.device_id], job.device


def test_do_not_deploy_then_a_later_run_carries_the_change(carrying):
    """The usual way there: run 1 configures edge-gateway 3.10 on press-03 without deploying;
    run 2 (line-monitor) deploys press-03 and so also pushes edge-gateway 3.10."""
    press_03 = _id("press-03")
    first = plan_update([Selection("edge-gateway", "3.10")])
    run_1 = create_run(
        first,
        approved_by="alice",
        devices=[press_03],
        actions={press_03: DeviceAction(DeployAction.NONE)},
        now=NOW,
    )
    apply_configuration(run_1, now=NOW)
    second = plan_update([Selection("line-monitor", "2.0.0")])
    [carried] = second.along[press_03]
    assert (carried.application, carried.from_text, carried.configured.text) == (
        "edge-gateway",
        "3.9",
        "3.10",
    )


def test_a_rollback_plan_lists_them_too(carrying):
    press_03 = _id("press-03")
    run_id = create_run(
        plan_update([Selection("line-monitor", "2.0.0")]),
        approved_by="alice",
        devices=[_id("press-01"), press_03],
        now=NOW,
    )
    apply_configuration(run_id, now=NOW)
    plan = plan_rollback(run_id)
    assert [c.application for c in plan.along[_id("press-01")]] == ["edge-gateway"]
    assert press_03 not in plan.along


def test_plan_json_and_text_name_them(carrying):
    plan = plan_update([Selection("line-monitor", "2.0.0")])
    document = plan_json(plan)
    assert document["carried_along"] == [
        {
            "device": "press-01",
            "application": "edge-gateway",
            "installed": "3.9",
            "configured": "3.10",
            "device_changes": [{"module": "broker", "op": "modified", "from": "2.0", "to": "2.1"}],
        },
        {
            "device": "press-02",
            "application": "edge-gateway",
            "installed": None,
            "configured": "3.9",
            "device_changes": [{"module": "broker", "op": "added", "from": None, "to": "2.0"}],
        },
    ]
    text = "".join(plan_text(plan))
    assert "2 devices also get changes configured earlier and not on them yet" in text
    press_01 = text[text.index("press-01") : text.index("press-02")]
    assert "  edge-gateway 3.9 → 3.10  (also pushed when deployed" in press_01
    assert "    ~ broker 2.0 → 2.1" in press_01


def test_a_claimed_job_says_what_it_pushes_along(carrying):
    """What the engine writes in the deployment's log before contacting the device."""
    run_id = create_run(
        plan_update([Selection("line-monitor", "2.0.0")]), approved_by="alice", now=NOW
    )
    apply_configuration(run_id, now=NOW)
    ids = [d.id for d in Deployment.select().where(Deployment.run == run_id)]
    along = {job.device: job.along for job in load_jobs(ids, "test")}
    assert along == {
        "press-01": ("edge-gateway 3.9 → 3.10",),
        "press-02": ("edge-gateway — → 3.9",),
        "press-03": (),
    }
