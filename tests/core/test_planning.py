from __future__ import annotations

import pytest

from appupdater.core.planning import ChangeOp, ModuleChange, Selection, plan_update
from appupdater.errors import PlanError


def plan_rows(plan):
    return [
        (t.device.name, t.app.name, t.from_version.text, t.to_version.text) for t in plan.targets
    ]


def test_latest_target_and_from_versions(planning_cases):
    plan = plan_update([Selection("line-monitor")])
    # the pre-release 2.1.0-rc.1 has the highest precedence, so it is the latest
    assert [(app.name, target.text) for app, target in plan.selections] == [
        ("line-monitor", "2.1.0-rc.1")
    ]
    assert plan_rows(plan) == [
        ("a-behind", "line-monitor", "1.0.0", "2.1.0-rc.1"),
        ("b-ahead", "line-monitor", "1.5.0", "2.1.0-rc.1"),
        ("c-configured", "line-monitor", "1.5.0", "2.1.0-rc.1"),
        ("e-installed", "line-monitor", "1.0.0", "2.1.0-rc.1"),
        ("g-both", "line-monitor", "1.0.0", "2.1.0-rc.1"),
        ("h-newer", "line-monitor", "1.0.0", "2.1.0-rc.1"),
    ]
    assert plan.skipped == []


def test_skipped_versions_add_and_remove_modules(planning_cases):
    plan = plan_update([Selection("line-monitor")])
    a = plan.targets[0]
    assert plan.changes(a) == (
        ModuleChange("alerts", ChangeOp.ADDED, None, "1.0.0"),
        ModuleChange("collector", ChangeOp.MODIFIED, "1.0.0", "2.1.0"),
        ModuleChange("dashboard", ChangeOp.REMOVED, "0.9.2", None),
        ModuleChange("historian", ChangeOp.ADDED, None, "0.1.0"),
    )


def test_diffs_are_shared_per_version_pair(planning_cases):
    plan = plan_update([Selection("line-monitor")])
    # six targets, but only two distinct (from, to) pairs
    assert len(plan.diffs) == 2
    same = [t for t in plan.targets if t.from_version.text == "1.0.0"]
    assert len({id(plan.changes(t)) for t in same}) == 1


def test_non_latest_target_skips_newer_configuration(planning_cases):
    plan = plan_update([Selection("line-monitor", "2.0")])
    assert plan.selections[0][1].text == "2.0.0"
    assert plan_rows(plan) == [
        ("a-behind", "line-monitor", "1.0.0", "2.0.0"),
        ("b-ahead", "line-monitor", "1.5.0", "2.0.0"),
        ("e-installed", "line-monitor", "1.0.0", "2.0.0"),
        ("g-both", "line-monitor", "1.0.0", "2.0.0"),
    ]
    skipped = [(s.device.name, s.reason) for s in plan.skipped]
    assert [name for name, _ in skipped] == ["c-configured", "h-newer"]
    assert "configured version 2.1.0-rc.1 is newer than the target 2.0.0" in skipped[0][1]


def test_two_applications_at_once(planning_cases):
    plan = plan_update([Selection("line-monitor", "2.0.0"), Selection("edge-gateway")])
    rows = plan_rows(plan)
    assert ("g-both", "edge-gateway", "3.9", "3.10") in rows
    assert ("g-both", "line-monitor", "1.0.0", "2.0.0") in rows
    # i-other: configured already at 3.10 but installed 3.9 -> affected from installed
    assert ("i-other", "edge-gateway", "3.9", "3.10") in rows
    # sorted by device, then application
    assert rows == sorted(rows, key=lambda r: (r[0], r[1]))
    assert [d.name for d in plan.devices()].count("g-both") == 1


@pytest.mark.parametrize(
    ("selections", "message"),
    [
        ([Selection("nope")], "unknown application 'nope' (known: edge-gateway, line-monitor)"),
        ([Selection("line-monitor", "9.0")], "has no version '9.0'"),
        ([Selection("line-monitor"), Selection("line-monitor", "1.0.0")], "selected twice"),
        ([], "no application selected"),
    ],
)
def test_bad_selections(planning_cases, selections, message):
    with pytest.raises(PlanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_update(selections)


def test_selection_parse():
    assert Selection.parse("line-monitor=2.0") == Selection("line-monitor", "2.0")
    assert Selection.parse("line-monitor") == Selection("line-monitor", None)
    with pytest.raises(PlanError):
        Selection.parse("=2.0")


def test_what_the_device_undergoes_starts_from_what_it_runs(planning_cases):
    """b-ahead is configured 1.5.0 but runs 1.0.0: the configuration's change starts at 1.5.0,
    a deployment takes the device from 1.0.0 (so the dashboard is Removed, alerts and
    historian Added); where installed and configured agree, both changes are the same."""
    plan = plan_update([Selection("line-monitor")])
    by_name = {t.device.name: t for t in plan.targets}
    ahead = by_name["b-ahead"]
    assert (ahead.from_version.text, ahead.device_from.text) == ("1.5.0", "1.0.0")
    assert ahead.device_differs
    assert [(c.module, c.op) for c in plan.changes(ahead)] == [
        ("alerts", ChangeOp.ADDED),
        ("collector", ChangeOp.MODIFIED),
        ("dashboard", ChangeOp.REMOVED),
        ("historian", ChangeOp.ADDED),
    ]
    assert plan.device_changes(ahead)[1] == ModuleChange(
        "collector", ChangeOp.MODIFIED, "1.0.0", "2.1.0"
    )
    assert plan.changes(ahead)[1].from_version == "1.5.0"
    same = by_name["a-behind"]
    assert not same.device_differs
    assert plan.device_changes(same) is plan.changes(same)
    # never reported an installed version: the device is taken to be where its configuration is
    assert by_name["c-configured"].device_from.text == "1.5.0"
    # both changes of every target are computed with the plan, once per pair
    assert ahead.device_key in plan.diffs
