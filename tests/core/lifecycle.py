"""Building blocks of the deployment state tests: a fleet whose application has many versions (so
that every run finds its devices behind), runs approved and configured as the wizard and the
engine do, and readers of deployment rows and of the events written since a moment."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import peewee

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction, apply_configuration, create_run
from appupdater.store.models import Deployment, DeploymentEvent, Device
from tests.helpers import devices_yaml, load_yaml

APP = "edge-app"
VERSIONS = 60  # 1.0.0 … 1.59.0: each run goes one version further
DEVICES = ("press-01", "press-02", "press-03")
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def version(k: int) -> str:
    return f"1.{k}.0"


def load_fleet(devices: tuple[str, ...] = DEVICES, versions: int = VERSIONS) -> None:
    """`APP` in `versions` versions (one module each), and `devices` configured and running
    its first version."""
    listed = "".join(
        f"      - version: '{version(k)}'\n"
        f"        modules: [{{name: core, version: '{version(k)}', image: 'reg/core:{k}'}}]\n"
        for k in range(versions)
    )
    first = version(0)
    apps = f"{{{APP}: {{configured: '{first}', installed: '{first}'}}}}"
    load_yaml(
        f"applications:\n  - name: {APP}\n    versions:\n{listed}"
        + devices_yaml(*(f"{{name: {name}, applications: {apps}}}" for name in devices))
    )


def device_ids() -> dict[str, int]:
    return dict(Device.select(Device.name, Device.id).tuples())


def approve(k: int, actions: Mapping[str, DeviceAction], now: datetime) -> int:
    """Record a run that updates the named devices to `version(k)`, each with its action (as the
    wizard's Approve does); the run's configuration is not applied yet. Returns the run id."""
    ids = device_ids()
    plan = plan_update([Selection(APP, version(k))])
    return create_run(
        plan,
        {ids[name]: action for name, action in actions.items()},
        approved_by="test",
        devices=[ids[name] for name in actions],
        now=now,
    )


def approve_and_configure(k: int, device: str, action: DeviceAction, now: datetime) -> int:
    """One device's deployment of a new run, created as the engine's first step does; returns
    the deployment id."""
    run_id = approve(k, {device: action}, now)
    apply_configuration(run_id, now)
    return Deployment.get(Deployment.run == run_id).id


# The readers below run after every call of the state machine test: their SQL is built once
# (peewee builds a query's SQL on every execution, which dominated that test's time).
_FIELDS = Deployment._meta.sorted_fields


@lru_cache(maxsize=1)
def _sql() -> dict[str, str]:
    """The readers' SQL for the bound database's dialect (the tests use SQLite only)."""
    placeholder = 0
    return {
        "rows": Deployment.select(*_FIELDS).order_by(Deployment.id).sql()[0],
        "row": Deployment.select(*_FIELDS).where(Deployment.id == placeholder).sql()[0],
        "events": DeploymentEvent.select(
            DeploymentEvent.id, DeploymentEvent.deployment, DeploymentEvent.message
        )
        .where(DeploymentEvent.id > placeholder)
        .order_by(DeploymentEvent.id)
        .sql()[0],
    }


def _read(name: str, *params: object) -> list[tuple]:
    return Deployment._meta.database.execute_sql(_sql()[name], params).fetchall()


def _as_dict(values: tuple) -> dict[str, Any]:
    return {f.name: f.python_value(v) for f, v in zip(_FIELDS, values, strict=True)}


def row(deployment_id: int) -> dict[str, Any]:
    """Every column of one deployment."""
    [values] = _read("row", deployment_id)
    return _as_dict(values)


def rows() -> dict[int, dict[str, Any]]:
    """Every column of every deployment, by id."""
    return {values[0]: _as_dict(values) for values in _read("rows")}


def last_event_id() -> int:
    return DeploymentEvent.select(peewee.fn.MAX(DeploymentEvent.id)).scalar() or 0


def events_since(event_id: int) -> list[tuple[int, int, str]]:
    """(event id, deployment id, message) of every event written after event `event_id`."""
    return _read("events", event_id)
