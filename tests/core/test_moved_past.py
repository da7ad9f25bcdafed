"""A run whose device's configuration moved past its target before the configuration step (an
import, another run, while it waited for its approver or an engine) leaves that device as it
is — no downgrade, no deployment pushing what the run never said — and says so; the review
shows it before anyone approves."""

from __future__ import annotations

import logging

from appupdater.core.planning import Selection, plan_update
from appupdater.core.run_review import review_json, review_run, review_text
from appupdater.core.runs import apply_configuration, create_run
from appupdater.core.status import status_document, status_text
from appupdater.store.models import (
    Application,
    ConfigRevision,
    Deployment,
    Device,
    DeviceApp,
    Target,
)
from tests.helpers import CATALOG, devices_yaml, load_yaml


def fleet(press_01: str = "1.0.0") -> str:
    return (
        CATALOG
        + "devices:\n"
        + "".join(
            f"  - {{name: {name}, applications: {{line-monitor: {{configured: '{version}', "
            f"installed: '1.0.0'}}}}}}\n"
            for name, version in (("press-01", press_01), ("press-02", "1.0.0"))
        )
    )


def configured(name: str) -> str:
    device = Device.get(Device.name == name)
    return DeviceApp.get(DeviceApp.device == device).configured.version


def test_a_device_moved_past_the_target_is_left_alone_and_the_others_proceed(db):
    load_yaml(fleet())
    run_id = create_run(plan_update([Selection("line-monitor", "1.5.0")]), approved_by="ops")
    load_yaml(fleet(press_01="2.0.0"), file="hall.yaml")  # before the configuration step
    review = review_run(run_id)
    [moved] = [d for d in review.devices if d.skipped]
    assert moved.name == "press-01" and moved.apps == ()
    assert moved.skipped == "line-monitor is configured 2.0.0, later than the run's 1.5.0"
    assert review.goals == {("line-monitor", "1.5.0"): 1}
    assert "1 device changed since the request is left as it is" in review.summary()
    text = "".join(review_text(review))
    assert "left as it is: changed since the request: line-monitor is configured 2.0.0" in text
    assert "2.0.0 → 1.5.0" not in text  # no false downgrade
    entry = next(d for d in review_json(review)["devices"] if d["device"] == "press-01")
    assert entry["skipped"] == moved.skipped and entry["applications"] == []

    applied = apply_configuration(run_id)
    press_01 = Device.get(Device.name == "press-01").id
    assert (applied.configurations_updated, applied.deployments_created) == (1, 1)
    assert applied.skips == {
        press_01: "line-monitor is configured 2.0.0 since the run was planned (later than its "
        "1.5.0): nothing of this run for the device; plan a new run to change it"
    }
    assert (configured("press-01"), configured("press-02")) == ("2.0.0", "1.5.0")
    assert [d.device.name for d in Deployment.select().where(Deployment.run == run_id)] == [
        "press-02"
    ]
    assert Target.get((Target.run == run_id) & (Target.device == press_01)).skipped
    revised = ConfigRevision.select().where(ConfigRevision.run == run_id)
    assert [r.device.name for r in revised] == ["press-02"]


def test_a_device_configured_to_the_target_already_is_deployed_as_before(db):
    """Equal is not past: nothing is downgraded, and the deployment pushes what the run says."""
    load_yaml(fleet())
    run_id = create_run(plan_update([Selection("line-monitor", "1.5.0")]), approved_by="ops")
    load_yaml(fleet(press_01="1.5.0"), file="hall.yaml")
    applied = apply_configuration(run_id)
    assert applied.skips == {} and applied.deployments_created == 2


def test_a_fleet_moved_past_a_waiting_request_is_skipped_device_by_device_and_logged_once(
    db, caplog
):
    """An import moved three of four devices past a request for two applications: each of the
    three keeps both applications as they are, each target says why, the fourth proceeds, and
    the log says it once (a fleet of 100,000 moved past used to write a warning per device)."""
    names = ("press-01", "press-02", "press-03", "press-04")

    def devices(moved: str) -> str:
        return devices_yaml(
            *(
                f"{{name: {name}, applications: {{line-monitor: {{configured: "
                f"'{moved if name != 'press-04' else '1.0.0'}', installed: '1.0.0'}}, "
                "edge-gateway: {configured: '3.9', installed: '3.9'}}}"
                for name in names
            )
        )

    load_yaml(CATALOG + devices("1.0.0"))
    plan = plan_update([Selection("line-monitor", "1.5.0"), Selection("edge-gateway", "3.10")])
    run_id = create_run(plan, approved_by="ops")
    load_yaml(CATALOG + devices("2.0.0"), file="hall.yaml")
    with caplog.at_level(logging.WARNING, logger="appupdater.runs"):
        applied = apply_configuration(run_id)
    ids = {d.name: d.id for d in Device.select()}
    why = (
        "line-monitor is configured 2.0.0 since the run was planned (later than its 1.5.0): "
        "nothing of this run for the device; plan a new run to change it"
    )
    assert applied.skips == {ids[n]: why for n in names[:3]}
    marks = {
        (t.device.name, t.application.name): t.skipped
        for t in Target.select().where(Target.run == run_id)
    }
    assert marks == {
        **{(n, app): why for n in names[:3] for app in ("line-monitor", "edge-gateway")},
        ("press-04", "line-monitor"): None,
        ("press-04", "edge-gateway"): None,
    }
    edge = {
        r.device.name: r.configured.version
        for r in DeviceApp.select().join(Application).where(Application.name == "edge-gateway")
    }
    assert edge == {"press-01": "3.9", "press-02": "3.9", "press-03": "3.9", "press-04": "3.10"}
    [record] = [r for r in caplog.records if r.name == "appupdater.runs"]
    assert record.getMessage().startswith(f"run #{run_id}: 3 devices skipped")


def test_the_review_lists_devices_moved_past_the_request_first_and_counts_them(db):
    """A run's review shows at most a few hundred devices before a search: the ones approving
    would leave alone come first, whatever their names, and text and JSON count them."""
    names = ("aa-01", "mm-02", "zz-03")

    def devices(moved: str) -> str:
        return devices_yaml(
            *(
                f"{{name: {name}, applications: {{line-monitor: {{configured: "
                f"'{moved if name == 'zz-03' else '1.0.0'}', installed: '1.0.0'}}}}}}"
                for name in names
            )
        )

    load_yaml(CATALOG + devices("1.0.0"))
    run_id = create_run(plan_update([Selection("line-monitor", "1.5.0")]), approved_by="ops")
    load_yaml(CATALOG + devices("2.0.0"), file="hall.yaml")
    review = review_run(run_id)
    assert [d.name for d in review.devices] == ["zz-03", "aa-01", "mm-02"]
    text = "".join(review_text(review))
    assert text.index("zz-03") < text.index("aa-01") < text.index("mm-02")
    shown = review_json(review)
    assert shown["skipped_devices"] == 1
    assert [d["device"] for d in shown["devices"]] == ["zz-03", "aa-01", "mm-02"]


def test_status_names_a_device_left_as_it_is_after_the_configuration_step(db):
    """No approver: the run is recorded approved and an engine configures it a moment later;
    press-01 moved past it in between. Its run has no deployment for press-01, so `status`
    says, under the run, that press-01 was left as it is and why."""
    load_yaml(fleet())
    run_id = create_run(plan_update([Selection("line-monitor", "1.5.0")]), approved_by="ops")
    load_yaml(fleet(press_01="2.0.0"), file="hall.yaml")
    apply_configuration(run_id)
    why = (
        "line-monitor is configured 2.0.0 since the run was planned (later than its 1.5.0): "
        "nothing of this run for the device; plan a new run to change it"
    )
    document = status_document(run_id)
    [run] = document["runs"]
    assert run["skipped"] == [{"device": "press-01", "why": why}]
    assert [d["device"] for d in document["deployments"]] == ["press-02"]
    text = "".join(status_text(document))
    assert f"  left as it is: press-01 — {why}\n" in text
