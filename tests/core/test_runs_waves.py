"""Runs in waves: create_run stores the strategy and each deploy-now target's wave (given, or
filled in the targets' order), refuses waves it cannot use in words, and apply_configuration
queues wave 1 and holds the later waves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import CONFIG_ONLY, DeviceAction, apply_configuration, create_run
from appupdater.core.waves import Strategy, parse_waves
from appupdater.errors import RunError
from appupdater.store.models import DeployAction, Deployment, DeploymentEvent, Target, UpdateRun
from tests.core.test_runs import device_id
from tests.helpers import dump_tables

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
CANARY = Strategy(parse_waves("1,rest"), soak_minutes=15, max_failures_percent=20)


def _waves(run_id):
    return {t.device.name: t.wave for t in Target.select().where(Target.run == run_id)}


def test_a_strategy_fills_waves_in_the_targets_order(three_presses):
    plan = plan_update([Selection("line-monitor", "2.0.0")])
    run_id = create_run(plan, approved_by="alice", now=NOW, strategy=CANARY)
    run = UpdateRun.get_by_id(run_id)
    assert run.strategy == {
        "spec": "1,rest",
        "waves": [1, 2],
        "soak_minutes": 15,
        "max_failures_percent": 20,
    }
    assert _waves(run_id) == {"press-01": 1, "press-02": 2, "press-03": 2}


def test_given_waves_are_kept_and_other_actions_have_none(three_presses):
    plan = plan_update([Selection("line-monitor", "2.0.0"), Selection("edge-gateway")])
    at = NOW + timedelta(hours=1)
    run_id = create_run(
        plan,
        {
            device_id("press-02"): DeviceAction(DeployAction.AT, at),
            device_id("press-01"): DeviceAction(DeployAction.NOW),
            device_id("press-03"): DeviceAction(DeployAction.NOW),
        },
        approved_by="alice",
        now=NOW,
        strategy=CANARY,
        waves={device_id("press-03"): 1, device_id("press-01"): 2},
    )
    rows = {(t.device.name, t.application.name): t.wave for t in Target.select()}
    assert rows == {
        ("press-01", "line-monitor"): 2,
        ("press-01", "edge-gateway"): 2,
        ("press-02", "line-monitor"): None,
        ("press-03", "line-monitor"): 1,
    }
    assert UpdateRun.get_by_id(run_id).strategy["waves"] == [1, 1]

    apply_configuration(run_id, now=NOW)
    deployments = {d.device.name: (d.state, d.wave) for d in Deployment.select()}
    assert deployments == {
        "press-01": ("held", 2),
        "press-02": ("scheduled", None),
        "press-03": ("queued", 1),
    }
    run = UpdateRun.get_by_id(run_id)
    assert (run.open_wave, run.wave_opened_at) == (1, NOW)
    held = Deployment.get(Deployment.state == "held")
    assert "held until wave 2 opens" in DeploymentEvent.get(deployment=held).message


def test_all_at_once_stores_no_strategy_and_no_waves(three_presses):
    run_id = create_run(plan_update([Selection("line-monitor")]), approved_by="alice", now=NOW)
    assert UpdateRun.get_by_id(run_id).strategy is None
    assert set(_waves(run_id).values()) == {None}
    apply_configuration(run_id, now=NOW)
    assert {d.state for d in Deployment.select()} == {"queued"}
    assert UpdateRun.get_by_id(run_id).open_wave is None


@pytest.mark.parametrize(
    ("waves", "strategy", "message"),
    [
        ({"press-02": 1}, CANARY, r"press-02 is not deployed now.*no wave"),
        ({"press-01": 0}, CANARY, r"press-01: wave 0.*from 1"),
        ({"press-01": 1}, None, r"waves need a strategy"),
        ({"press-01": 1}, CANARY, r"no wave for press-03"),
    ],
)
def test_waves_that_cannot_be_used_are_refused_in_words(three_presses, waves, strategy, message):
    plan = plan_update([Selection("line-monitor")])
    before = dump_tables()
    with pytest.raises(RunError, match=message):
        create_run(
            plan,
            {device_id("press-02"): CONFIG_ONLY},
            approved_by="alice",
            now=NOW,
            strategy=strategy,
            waves={device_id(name): wave for name, wave in waves.items()},
        )
    assert dump_tables() == before


@pytest.mark.parametrize("strategy", [CANARY, None], ids=["in waves", "all at once"])
def test_a_run_aborted_before_it_is_configured_gets_its_configuration_and_no_work(
    three_presses, strategy
):
    from appupdater.core import run_decisions
    from appupdater.core.rollout import open_due_waves, startable

    plan = plan_update([Selection("line-monitor", "2.0.0")])
    run_id = create_run(plan, approved_by="alice", now=NOW, strategy=strategy)
    assert run_decisions.abort(run_id, "bob", NOW).changed
    applied = apply_configuration(run_id, NOW + timedelta(seconds=1))
    assert applied.configurations_updated == 3
    states = {d.device.name: d.state for d in Deployment.select().where(Deployment.run == run_id)}
    assert states == dict.fromkeys(("press-01", "press-02", "press-03"), "cancelled")
    said = [e.message for e in DeploymentEvent.select().order_by(DeploymentEvent.id)]
    assert said.count("cancelled: run aborted by bob before its deployments were created") == 3
    assert open_due_waves(NOW + timedelta(days=1)) == []
    assert Deployment.select().where(startable()).count() == 0
