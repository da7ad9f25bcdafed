"""What the main window lists: applications with how many devices are behind, and every
device with its versions. Read with raw rows: the fleet can be 100,000 devices."""

from __future__ import annotations

from dataclasses import dataclass

from appupdater.core.catalog import Catalog, load_catalog
from appupdater.heap import gc_paused
from appupdater.store.models import Device, DeviceApp


@dataclass(frozen=True, slots=True)
class AppSummary:
    name: str
    latest: str
    versions: int
    devices: int  # devices that have the application at all
    behind: int  # devices whose configured or installed version is earlier than the latest


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    name: str
    site: str
    online: bool
    # per application, in `Inventory.apps` order: (configured, installed, behind latest) or None
    versions: tuple[tuple[str | None, str | None, bool] | None, ...]


@dataclass
class Inventory:
    apps: list[AppSummary]
    devices: list[DeviceRow]
    catalog: Catalog


def load_inventory() -> Inventory:
    """Applications (by name) and devices (by name) with their versions, in three queries."""
    with gc_paused():
        catalog = load_catalog()
        names = sorted(catalog.apps)
        column = {catalog.apps[name].id: i for i, name in enumerate(names)}
        latest_key = {}
        for app in catalog.apps.values():
            latest_key[app.id] = app.latest.parsed.key if app.latest else None
        versions = catalog.versions
        database = Device._meta.database
        device_sql, params = (
            Device.select(Device.id, Device.name, Device.site, Device.online)
            .order_by(Device.name)
            .sql()
        )
        state_sql, state_params = DeviceApp.select(
            DeviceApp.device, DeviceApp.application, DeviceApp.configured, DeviceApp.installed
        ).sql()
        per_device: dict[int, list] = {}
        counts = [[0, 0] for _ in names]
        width = len(names)
        for device_id, app_id, configured_id, installed_id in database.execute_sql(
            state_sql, state_params
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
        devices = [
            DeviceRow(
                device_id,
                name,
                site,
                bool(online),
                tuple(per_device[device_id]) if device_id in per_device else empty,
            )
            for device_id, name, site, online in database.execute_sql(device_sql, params)
        ]
    apps = [
        AppSummary(
            name,
            catalog.apps[name].latest.text if catalog.apps[name].latest else "",
            len(catalog.apps[name].versions),
            counts[i][0],
            counts[i][1],
        )
        for i, name in enumerate(names)
    ]
    return Inventory(apps, devices, catalog)
