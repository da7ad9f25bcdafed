"""Helpers of the engine tests: record runs as the wizard would, and read what happened."""

from __future__ import annotations

from datetime import timedelta

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction, create_run
from appupdater.engine.engine import Engine
from appupdater.store.models import DeployAction, Deployment, DeploymentEvent, Device


def after_steps(qtbot, engine: Engine, count: int, timeout: int = 15_000) -> None:
    """Wait until `count` more whole scheduling steps of `engine` have completed: with two,
    at least one began after whatever the test changed before calling this."""
    target = engine.steps + count
    qtbot.waitUntil(lambda: engine.steps >= target, timeout=timeout)


def device_id(name: str) -> int:
    return Device.get(Device.name == name).id


def approve(apps=("line-monitor",), devices=None, actions=None, now=None) -> int:
    """Record a run as the wizard would (configuration is left to the engine)."""
    plan = plan_update([Selection(a) for a in apps])
    ids = None if devices is None else [device_id(n) for n in devices]
    actions = {device_id(n): a for n, a in (actions or {}).items()}
    return create_run(plan, actions, approved_by="test", devices=ids, now=now)


def deployment(run_id: int, name: str) -> Deployment:
    return Deployment.get((Deployment.run == run_id) & (Deployment.device == device_id(name)))


def state(run_id: int, name: str) -> str | None:
    row = (
        Deployment.select(Deployment.state)
        .where((Deployment.run == run_id) & (Deployment.device == device_id(name)))
        .tuples()
        .first()
    )
    return row[0] if row else None


def events(deployment_id: int) -> list[str]:
    return [
        e.message
        for e in DeploymentEvent.select()
        .where(DeploymentEvent.deployment == deployment_id)
        .order_by(DeploymentEvent.at, DeploymentEvent.id)
    ]


def at(minutes: float, now) -> DeviceAction:
    return DeviceAction(DeployAction.AT, now + timedelta(minutes=minutes))
