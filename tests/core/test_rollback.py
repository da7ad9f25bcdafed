"""Configuration revisions and rollbacks: a run and its rollback, devices changed since, a
rollback of a rollback, reverts, and that nothing else ever downgrades a configuration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appupdater.core.config_history import device_history
from appupdater.core.planning import ChangeOp, Selection, plan_update
from appupdater.core.rollback import plan_revert, plan_rollback
from appupdater.core.runs import CONFIG_ONLY, apply_configuration, create_run
from appupdater.errors import PlanError, RunError
from appupdater.store.models import Application, AppVersion, Device, DeviceApp, UpdateRun
from tests.helpers import CATALOG, devices_yaml, load_yaml

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def device_id(name):
    return Device.get(Device.name == name).id


def snapshot():
    """Every device's configured map: {device: {application: version}}."""
    query = (
        DeviceApp.select(Device.name, Application.name, AppVersion.version)
        .join(Device)
        .switch(DeviceApp)
        .join(Application)
        .switch(DeviceApp)
        .join(AppVersion, on=(DeviceApp.configured == AppVersion.id))
        .tuples()
    )
    found: dict[str, dict[str, str]] = {}
    for device, app, version in query:
        found.setdefault(device, {})[app] = version
    return found


def run(selections, devices=None, **kwargs):
    plan = plan_update(selections)
    ids = None if devices is None else [device_id(name) for name in devices]
    run_id = create_run(plan, approved_by="alice", devices=ids, default=CONFIG_ONLY, **kwargs)
    apply_configuration(run_id)
    return run_id


def roll_back(run_id, devices=None):
    ids = None if devices is None else [device_id(name) for name in devices]
    plan = plan_rollback(run_id, ids)
    new_run = create_run(plan, approved_by="bob", default=CONFIG_ONLY)
    apply_configuration(new_run)
    return new_run, plan


def test_every_device_starts_with_revision_1_of_its_import(three_presses):
    history = device_history(device_id("press-01"))
    assert [(r.number, r.replaced, r.reason, r.run_id) for r in history] == [
        (1, None, "import of test.yaml", None)
    ]
    assert history[0].configured == {"edge-gateway": "3.9", "line-monitor": "1.0.0"}
    assert {c.application for c in history[0].changes} == {"edge-gateway", "line-monitor"}


def test_run_then_rollback_restores_the_snapshot_with_three_revisions(three_presses):
    before = snapshot()
    run_id = run([Selection("line-monitor", "2.0.0"), Selection("edge-gateway")])
    assert snapshot() != before
    rollback_id, plan = roll_back(run_id)
    assert plan.rollback_of == run_id and plan.reason == f"rollback of run #{run_id}"
    assert snapshot() == before
    rollback = UpdateRun.get_by_id(rollback_id)
    assert (rollback.rollback_of, rollback.reason) == (run_id, f"rollback of run #{run_id}")
    for name in ("press-01", "press-02", "press-03"):
        history = device_history(device_id(name))
        assert [r.number for r in history] == [3, 2, 1]
        assert [r.reason for r in history] == [
            f"rollback of run #{run_id}",
            f"run #{run_id}",
            "import of test.yaml",
        ]
        assert history[0].run_id == rollback_id and history[1].run_id == run_id
        assert history[0].configured == history[2].configured
    newest = device_history(device_id("press-01"))[0]
    line = next(c for c in newest.changes if c.application == "line-monitor")
    assert (line.from_version, line.to_version) == ("2.0.0", "1.0.0")
    assert {(m.module, m.op) for m in line.modules} == {
        ("collector", ChangeOp.MODIFIED),
        ("alerts", ChangeOp.REMOVED),
        ("dashboard", ChangeOp.ADDED),
    }


def test_rollback_plan_works_like_any_plan(three_presses):
    run_id = run([Selection("line-monitor", "2.0.0")])
    plan = plan_rollback(run_id)
    by_device = {t.device.name: (t.from_version.text, t.to_version.text) for t in plan.targets}
    # versions differ per device: each goes back to its own revision before the run
    assert by_device == {
        "press-01": ("2.0.0", "1.0.0"),
        "press-02": ("2.0.0", "1.5.0"),
        "press-03": ("2.0.0", "1.0.0"),
    }
    assert [(a.name, v.text) for a, v in plan.selections] == [("line-monitor", "1.0.0")]
    for target in plan.targets:
        assert plan.changes(target)
        # never deployed: the device still runs what the rollback goes back to
        assert plan.device_changes(target) == () or target.device.name == "press-02"


def test_device_changed_by_a_later_run_is_skipped_with_its_reason(three_presses):
    run_id = run([Selection("line-monitor", "2.0.0")])
    later = run([Selection("line-monitor", "2.1.0-rc.1")], devices=["press-02"])
    plan = plan_rollback(run_id)
    assert {t.device.name for t in plan.targets} == {"press-01", "press-03"}
    assert [(s.device.name, s.reason) for s in plan.skipped] == [
        ("press-02", f"configured 2.1.0-rc.1 since run #{later}")
    ]


def test_device_the_run_did_not_change_is_skipped(three_presses):
    load_yaml(
        devices_yaml(
            "{name: press-04, applications: {line-monitor: {configured: '2.0.0', installed: '1.0.0'}}}"
        )
    )
    run_id = run([Selection("line-monitor", "2.0.0")])
    plan = plan_rollback(run_id)
    assert ("press-04", f"run #{run_id} did not change its configuration") in [
        (s.device.name, s.reason) for s in plan.skipped
    ]


def test_rollback_of_a_rollback_restores_the_runs_versions(three_presses):
    run_id = run([Selection("line-monitor", "2.0.0"), Selection("edge-gateway")])
    after_run = snapshot()
    rollback_id, _ = roll_back(run_id)
    _, plan = roll_back(rollback_id)
    assert plan.reason == f"rollback of run #{rollback_id}"
    assert snapshot() == after_run
    assert [r.number for r in device_history(device_id("press-01"))] == [4, 3, 2, 1]


def test_rollback_rechecks_at_apply_time(three_presses):
    run_id = run([Selection("line-monitor", "2.0.0")])
    plan = plan_rollback(run_id)
    rollback_id = create_run(plan, approved_by="bob", default=CONFIG_ONLY)
    run([Selection("line-monitor", "2.1.0-rc.1")], devices=["press-03"])  # after planning
    applied = apply_configuration(rollback_id)
    assert applied.skipped == 1
    assert snapshot()["press-03"]["line-monitor"] == "2.1.0-rc.1"
    assert snapshot()["press-01"]["line-monitor"] == "1.0.0"


def test_rollback_of_a_run_that_added_an_application_keeps_it(db):
    load_yaml(
        CATALOG
        + devices_yaml(
            "{name: press-01, applications: {line-monitor: {installed: '1.0.0'}}}",
        )
    )
    run_id = run([Selection("line-monitor", "2.0.0")])
    plan = plan_rollback(run_id)
    assert plan.targets == []
    assert [s.reason for s in plan.skipped] == [
        f"line-monitor had no configured version before run #{run_id}; a rollback does not "
        "remove an application's configuration"
    ]
    with pytest.raises(RunError):
        create_run(plan, approved_by="bob")


def test_rollback_of_a_run_not_applied_or_unknown_is_refused(three_presses):
    plan = plan_update([Selection("line-monitor", "2.0.0")])
    run_id = create_run(plan, approved_by="alice")
    with pytest.raises(PlanError, match="has not changed any configuration yet"):
        plan_rollback(run_id)
    with pytest.raises(PlanError, match="no update run 999"):
        plan_rollback(999)


def test_rollback_of_some_devices_only(three_presses):
    before = snapshot()
    run_id = run([Selection("line-monitor", "2.0.0")])
    roll_back(run_id, devices=["press-01"])
    assert snapshot()["press-01"] == before["press-01"]
    assert snapshot()["press-03"]["line-monitor"] == "2.0.0"


def test_revert_to_a_revision(three_presses):
    run([Selection("line-monitor", "2.0.0")])
    run([Selection("edge-gateway")])
    press = device_id("press-01")
    plan = plan_revert(press, 1)
    assert plan.reason == "revert to revision 1" and plan.rollback_of is None
    apply_configuration(create_run(plan, approved_by="bob", default=CONFIG_ONLY))
    history = device_history(press)
    assert history[0].reason == "revert to revision 1"
    assert history[0].configured == history[-1].configured
    with pytest.raises(PlanError, match="is the current configuration"):
        plan_revert(press, history[0].number)
    with pytest.raises(PlanError, match="no configuration revision 9"):
        plan_revert(press, 9)


def test_nothing_but_a_rollback_downgrades(three_presses):
    run([Selection("line-monitor", "2.0.0")])
    after = snapshot()
    # an ordinary run to an earlier version: not affected, the configuration stays
    plan = plan_update([Selection("line-monitor", "1.5.0")])
    assert {s.device.name for s in plan.skipped} == {"press-01", "press-02", "press-03"}
    # an import that gives earlier versions, or none: kept, and said so
    summary = load_yaml(
        devices_yaml(
            "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
            "{name: press-02, applications: {line-monitor: {installed: '1.0.0'}}}",
        )
    )
    assert summary.configurations_kept == 2
    assert "never downgraded" in summary.describe()
    assert snapshot() == after
    assert [r.number for r in device_history(device_id("press-01"))] == [2, 1]


def test_import_that_changes_a_configuration_writes_a_revision(three_presses):
    load_yaml(
        devices_yaml(
            "{name: press-03, applications: {line-monitor: {configured: '2.0.0', installed: '1.0.0'}}}",
        ),
        file="fleet.yaml",
    )
    newest = device_history(device_id("press-03"))[0]
    assert (newest.number, newest.reason, newest.configured) == (
        2,
        "import of fleet.yaml",
        {"line-monitor": "2.0.0"},
    )


def test_a_late_rollback_does_not_undo_a_later_run_that_set_the_same_version(three_presses):
    """ABA: between planning and approval the device went 2.0.0 → 1.0.0 → 2.0.0 again; its
    configured version equals the planned from version, but it is not the configuration the
    rollback was planned from."""
    run_id = run([Selection("line-monitor", "2.0.0")], devices=["press-03"])
    late = create_run(plan_rollback(run_id), approved_by="bob", default=CONFIG_ONLY)
    roll_back(run_id)  # another rollback of the same run, applied first
    again = run([Selection("line-monitor", "2.0.0")], devices=["press-03"])
    number = device_history(device_id("press-03"))[0].number
    applied = apply_configuration(late)
    assert applied.skipped == 1 and applied.configurations_updated == 0
    assert applied.skips == {
        device_id("press-03"): (
            f"changed since the rollback was planned (now revision {number}: run #{again})"
        )
    }
    assert snapshot()["press-03"]["line-monitor"] == "2.0.0"
    assert device_history(device_id("press-03"))[0].reason == f"run #{again}"


def test_a_revert_is_skipped_when_another_application_changed_since_planning(three_presses):
    press = device_id("press-01")
    run([Selection("line-monitor", "2.0.0")], devices=["press-01"])
    revert = create_run(plan_revert(press, 1), approved_by="bob", default=CONFIG_ONLY)
    edge = run([Selection("edge-gateway")], devices=["press-01"])  # not a target of the revert
    applied = apply_configuration(revert)
    assert (applied.skipped, applied.configurations_updated) == (1, 0)
    assert (
        applied.skips[press]
        == f"changed since the rollback was planned (now revision 3: run #{edge})"
    )
    assert device_history(press)[0].reason == f"run #{edge}"


def test_a_device_skipped_at_apply_time_is_described_so_by_a_later_rollback_plan(three_presses):
    run_id = run([Selection("line-monitor", "2.0.0")], devices=["press-03"])
    rollback_id = create_run(plan_rollback(run_id), approved_by="bob", default=CONFIG_ONLY)
    later = run([Selection("line-monitor", "2.1.0-rc.1")], devices=["press-03"])
    apply_configuration(rollback_id)
    plan = plan_rollback(rollback_id)
    assert [(s.device.name, s.reason) for s in plan.skipped] == [
        (
            "press-03",
            f"run #{rollback_id} skipped it when applied: changed since the rollback was "
            f"planned (now revision 3: run #{later})",
        )
    ]
