"""What the main window lists: applications with how many devices are behind, and every
device with its versions. Read with raw rows: the fleet can be 100,000 devices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from appupdater.core.catalog import Catalog, load_catalog
from appupdater.core.versions import VersionKey
from appupdater.heap import gc_paused
from appupdater.store.models import Device, DeviceApp, DeviceHealth
from appupdater.store.rows import sql_rows


@dataclass(frozen=True, slots=True)
class AppSummary:
    name: str
    latest: str
    versions: int
    devices: int  # devices that have the application at all
    behind: int  # devices whose configured or installed version is earlier than the latest


# a device's (configured, installed, behind latest) versions of one application
VersionCell = tuple[str | None, str | None, bool]


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    name: str
    site: str
    online: bool
    # per application, in `Inventory.apps` order; None where it does not have it
    versions: tuple[VersionCell | None, ...]
    health: DeviceHealthCell | None = None  # None: never probed


@dataclass(frozen=True, slots=True)
class DeviceHealthCell:
    """What the newest probe said about a device's health, and its drift (core/health.py)."""

    health: str  # a `Health` value
    detail: str  # one line per module, worst first
    at: datetime
    drift: str | None


@dataclass
class Inventory:
    apps: list[AppSummary]
    devices: list[DeviceRow]
    catalog: Catalog


def load_inventory() -> Inventory:
    """Applications (by name) and devices (by name) with their versions and health, in four
    queries."""
    with gc_paused():
        catalog = load_catalog()
        names = sorted(catalog.apps)
        column = {catalog.apps[name].id: i for i, name in enumerate(names)}
        latest_key: dict[int, VersionKey | None] = {}
        for app in catalog.apps.values():
            latest_key[app.id] = app.latest.parsed.key if app.latest else None
        versions = catalog.versions
        device_sql, params = (
            Device.select(Device.id, Device.name, Device.site, Device.online)
            .order_by(Device.name)
            .sql()
        )
        state_sql, state_params = DeviceApp.select(
            DeviceApp.device, DeviceApp.application, DeviceApp.configured, DeviceApp.installed
        ).sql()
        per_device: dict[int, list[VersionCell | None]] = {}
        counts = [[0, 0] for _ in names]
        width = len(names)
        for device_id, app_id, configured_id, installed_id in sql_rows(
            state_sql, state_params, tuple[int, int, int | None, int | None]
        ):
            configured = versions[configured_id] if configured_id is not None else None
            installed = versions[installed_id] if installed_id is not None else None
            latest = latest_key[app_id]
            behind = latest is not None and any(
                v is not None and v.parsed.key < latest for v in (configured, installed)
            )
            slot = column[app_id]
            counts[slot][0] += 1
            counts[slot][1] += behind
            cells = per_device.get(device_id)
            if cells is None:
                cells = per_device[device_id] = [None] * width
            cells[slot] = (
                configured.text if configured else None,
                installed.text if installed else None,
                behind,
            )
        empty = (None,) * width
        health = _health()
        devices = [
            DeviceRow(
                device_id,
                name,
                site,
                bool(online),
                tuple(per_device[device_id]) if device_id in per_device else empty,
                health.get(device_id),
            )
            for device_id, name, site, online in sql_rows(
                device_sql, params, tuple[int, str, str, int]
            )
        ]
    apps = []
    for i, name in enumerate(names):
        app_info = catalog.apps[name]
        newest = app_info.latest
        apps.append(
            AppSummary(
                name,
                newest.text if newest else "",
                len(app_info.versions),
                counts[i][0],
                counts[i][1],
            )
        )
    return Inventory(apps, devices, catalog)


def _health() -> dict[int, DeviceHealthCell]:
    """Each probed device's health and drift."""
    query = DeviceHealth.select(
        DeviceHealth.device,
        DeviceHealth.health,
        DeviceHealth.detail,
        DeviceHealth.at,
        DeviceHealth.drift,
    )
    at_value = DeviceHealth.at.python_value
    sql, params = query.sql()
    cells = {}
    for device_id, health, detail, at, drift in sql_rows(
        sql, params, tuple[int, str, str, datetime | str, str | None]
    ):
        moment = at_value(at)
        if moment is not None:  # never None: the column is NOT NULL
            cells[device_id] = DeviceHealthCell(health, detail, moment, drift)
    return cells
