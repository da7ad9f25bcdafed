"""Whether what the main window lists has changed, in one cheap read.

The main window lists the catalog and every device with its configured and installed versions,
health and drift. Those change in several places (a run's configuration, a deployment that
succeeded, a probe, an import from another process), none of which bumps a change counter the
way deployments do (appupdater/store/revisions.py). So the window compares a *fingerprint*:
counts and sums over the tables it shows (about 20 ms for 100,000 devices on SQLite, off the
GUI thread). Every row enters its sum with a weight of its own, so a change of any one cell
changes the fingerprint; several changes cancelling out exactly would need a coincidence of
weights.
"""

from __future__ import annotations

import peewee
from peewee import Expression, Node, fn

from appupdater.store.models import AppVersion, Device, DeviceApp, DeviceHealth, db
from appupdater.store.rows import first

PRIME = 1_000_003  # keeps each row's term small: a sum over millions of rows cannot overflow

Fingerprint = tuple[int, ...]


def fleet_fingerprint() -> Fingerprint:
    """Counts and weighted sums of the devices, their versions and the catalog."""
    device_term = _modulo(
        (fn.LENGTH(Device.site) * 5 + Device.online.cast("integer") * 7 + 1) * _weight(Device.id)
    )
    cell_term = _modulo(
        (
            fn.COALESCE(DeviceApp.configured, 0) * 31
            + fn.COALESCE(DeviceApp.installed, 0) * 1_009
            + 1
        )
        * _weight(DeviceApp.id)
    )
    # health and drift as the probe found them (not their time: each probe would reload)
    health_term = _modulo(
        (
            peewee.Case(DeviceHealth.health, (("healthy", 1), ("unhealthy", 2)), 3)
            + fn.LENGTH(DeviceHealth.detail) * 11
            + fn.LENGTH(fn.COALESCE(DeviceHealth.drift, "")) * 13
        )
        * _weight(DeviceHealth.device)
    )
    queries = (
        Device.select(fn.COUNT(Device.id), fn.MAX(Device.id), fn.SUM(device_term)),
        DeviceHealth.select(fn.COUNT(DeviceHealth.device), fn.SUM(health_term)),
        DeviceApp.select(fn.COUNT(DeviceApp.id), fn.SUM(cell_term)),
        AppVersion.select(fn.COUNT(AppVersion.id), fn.MAX(AppVersion.id)),
    )
    values: list[int] = []
    for query in queries:
        row = first(query, tuple[int | None, ...]) or ()
        values.extend(int(value or 0) for value in row)
    return tuple(values)


def _weight(row_id: peewee.Field) -> Expression:
    """A weight of its own for each row (1 … 65521, scattered), so that changes of two rows
    do not cancel out in a sum."""
    return Expression(row_id * 7919, _mod(), 65_521) + 1


def _modulo(term: Node) -> Expression:
    """`term % PRIME` in SQL (peewee reads Python's `%` as LIKE)."""
    return Expression(term, _mod(), PRIME)


def _mod() -> str:
    """SQL's `%`, which psycopg2 reads as the start of a parameter unless doubled."""
    return "%%" if isinstance(db.obj, peewee.PostgresqlDatabase) else "%"
