"""Configuration revisions: every change of a device's configured versions is a new revision.

A revision (`ConfigRevision`) holds a device's whole configured map (application id → version
id; an application without a configured version is left out), its number (1, 2, … per device),
the number it replaced, when, by whom and why ("run #12", "import of fleet.yaml", "rollback of
run #12", "revert to revision 3", "migrated"), and the run whose configuration step made it.
`Device.config_revision` is the device's newest number, so the current one is found without a
scan.

Writers call `record_revisions` inside the transaction of their change, once for all the devices
they changed: one bulk insert of the revisions and one bulk update of the devices' numbers,
never a query per device. The maps they pass come from `configured_maps` (one query) with their
own changes applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import peewee

from appupdater.store.bulk import insert_rows, is_postgres, update_rows
from appupdater.store.fields import to_db_time
from appupdater.store.models import ConfigRevision, Device, DeviceApp
from appupdater.store.rows import sql_rows

ConfigMap = dict[int, int]  # application id → configured version id


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """A device's newest revision number and its configured map, as stored now."""

    number: int
    configured: ConfigMap


def configured_maps(devices: peewee.Node | Iterable[int] | None = None) -> dict[int, DeviceConfig]:
    """Each device's number and configured map (device id → `DeviceConfig`), in one query.
    `devices`: a subquery of device ids, ids, or None for every device. Devices without any
    application are included (empty map)."""
    query = Device.select(
        Device.id, Device.config_revision, DeviceApp.application, DeviceApp.configured
    )
    query = query.join(DeviceApp, peewee.JOIN.LEFT_OUTER, on=(DeviceApp.device == Device.id))
    if devices is not None:
        chosen = devices if isinstance(devices, peewee.Node) else list(devices)
        query = query.where(Device.id.in_(chosen))
    sql, params = query.sql()
    maps: dict[int, DeviceConfig] = {}
    for device_id, number, app_id, version_id in sql_rows(
        sql, params, tuple[int, int, int | None, int | None]
    ):
        config = maps.get(device_id)
        if config is None:
            config = maps[device_id] = DeviceConfig(number, {})
        if app_id is not None and version_id is not None:
            config.configured[app_id] = version_id
    return maps


def lock_devices(devices: peewee.Node | None = None) -> None:
    """PostgreSQL: lock the rows of `devices` (a subquery of device ids; None: every device)
    until the caller's transaction ends, in one statement, in id order (so two writers never
    deadlock). A writer of configurations calls it before reading them, so that another
    writer of the same devices waits instead of acting on what it read before: a
    configuration set from a stale read could go to an earlier version, and a revision number
    could be taken twice. On SQLite the write transaction already lets one writer in."""
    database = Device._meta.database
    if not is_postgres(database):
        return
    chosen = Device.select(Device.id)
    if devices is not None:
        chosen = chosen.where(Device.id.in_(devices))
    sql, params = chosen.order_by(Device.id).sql()
    # counted on the server, so the ids do not travel; the locks are taken as rows are read
    database.execute_sql(f"SELECT count(*) FROM ({sql} FOR UPDATE) AS locked", params)


def encode(configured: Mapping[int, int]) -> str:
    """A map as stored: JSON with the application ids as (sorted) text keys."""
    return json.dumps({str(k): v for k, v in sorted(configured.items())}, separators=(",", ":"))


def decode(stored: Mapping[str, int]) -> ConfigMap:
    """A stored map (as `ConfigRevision.configured` reads it) with integer keys."""
    return {int(k): v for k, v in stored.items()}


REVISION_FIELDS = (
    ConfigRevision.device,
    ConfigRevision.number,
    ConfigRevision.replaced,
    ConfigRevision.at,
    ConfigRevision.by,
    ConfigRevision.reason,
    ConfigRevision.run,
    ConfigRevision.configured,
)


def record_revisions(
    changed: Mapping[int, tuple[int, Mapping[int, int]]],
    *,
    at: datetime,
    by: str,
    reason: str,
    run_id: int | None = None,
) -> int:
    """Write one new revision per device of `changed` (device id → (its current number, its new
    configured map)) and bump each device's number; call it inside the change's transaction.
    Returns how many were written. The same map is encoded once however many devices share it."""
    if not changed:
        return 0
    stamp = to_db_time(at)
    texts: dict[tuple[tuple[int, int], ...], str] = {}
    rows = []
    numbers = []
    for device_id, (current, configured) in changed.items():
        key = tuple(sorted(configured.items()))
        text = texts.get(key)
        if text is None:
            text = texts[key] = encode(configured)
        number = current + 1
        rows.append((device_id, number, current or None, stamp, by, reason, run_id, text))
        numbers.append((number, device_id))
    insert_rows(ConfigRevision, REVISION_FIELDS, rows)
    update_rows(Device, [Device.config_revision], numbers)
    return len(rows)
