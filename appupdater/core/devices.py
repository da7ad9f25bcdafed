"""Devices as their agents report them: connection settings, and what a probe found.

A probe keeps `online` and `last_seen_at`, and the *installed* versions as the device reports
them — a device that fell back to an older version shows as behind again. Versions the catalog
does not know are left out (and named in the returned notes)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from appupdater.core.fleetchecks import FINGERPRINT, check_endpoint, normalise_fingerprint
from appupdater.core.jobs import Connection
from appupdater.errors import DeviceSettingError
from appupdater.store.db import writing
from appupdater.store.models import Application, AppVersion, Device, DeviceApp, Labels
from appupdater.store.rows import one, tuples


@dataclass(frozen=True)
class AgentDevice:
    id: int
    name: str
    labels: Labels
    connection: Connection


@dataclass(frozen=True)
class ProbeReport:
    device_id: int
    online: bool
    installed: dict[str, str] = field(default_factory=dict)
    message: str = ""


def agent_devices() -> list[AgentDevice]:
    """Every device with an agent endpoint, with what it takes to reach it."""
    query = Device.select(
        Device.id,
        Device.name,
        Device.labels,
        Device.endpoint,
        Device.token,
        Device.tls_ca_file,
        Device.tls_fingerprint,
    ).where(Device.endpoint.is_null(False) & (Device.endpoint != ""))
    return [
        AgentDevice(i, name, labels or {}, Connection(endpoint, token, ca_file, fingerprint))
        for i, name, labels, endpoint, token, ca_file, fingerprint in tuples(
            query, tuple[int, str, Labels, str, str | None, str | None, str | None]
        )
    ]


def record_probes(reports: list[ProbeReport], now: datetime) -> list[str]:
    """Write what the probes found, in one transaction; returns notes on what was left out."""
    if not reports:
        return []
    apps = dict(tuples(Application.select(Application.name, Application.id), tuple[str, int]))
    version_query = AppVersion.select(AppVersion.id, AppVersion.application, AppVersion.version)
    versions = {
        (app_id, text): version_id
        for version_id, app_id, text in tuples(version_query, tuple[int, int, str])
    }
    name_query = Device.select(Device.id, Device.name).where(
        Device.id.in_([r.device_id for r in reports])
    )
    names = dict(tuples(name_query, tuple[int, str]))
    notes = []
    with writing():
        for report in reports:
            values: dict[str, object] = {"online": report.online}
            if report.online:
                values["last_seen_at"] = now
            Device.update(**values).where(Device.id == report.device_id).execute()
            for app, text in report.installed.items():
                app_id = apps.get(app)
                version_id = versions.get((app_id, text)) if app_id is not None else None
                if version_id is None:
                    notes.append(
                        f"{names.get(report.device_id)} runs {app} {text}, not in the catalog"
                    )
                    continue
                updated = (
                    DeviceApp.update(installed=version_id)
                    .where(
                        (DeviceApp.device == report.device_id)
                        & (DeviceApp.application == app_id)
                        & ((DeviceApp.installed != version_id) | DeviceApp.installed.is_null())
                    )
                    .execute()
                )
                if not updated:
                    DeviceApp.insert(
                        device=report.device_id, application=app_id, installed=version_id
                    ).on_conflict_ignore().execute()
    return notes


class _Keep(enum.Enum):
    """The type of `KEEP`, so that the checker can tell it from a token."""

    KEEP = enum.auto()


KEEP = _Keep.KEEP  # set_connection: leave the stored token as it is


def set_connection(
    device_id: int,
    endpoint: str | None,
    *,
    ca_file: str | None = None,
    fingerprint: str | None = None,
    token: str | _Keep | None = KEEP,
) -> None:
    """Store how to reach a device's agent. The token is kept unless one is given (an empty
    text removes it); it is never read back by the user interface."""
    endpoint = (endpoint or "").strip() or None
    if endpoint is not None and (problem := check_endpoint(endpoint)):
        raise DeviceSettingError(f"endpoint {endpoint} {problem}")
    fingerprint = (fingerprint or "").strip() or None
    if fingerprint is not None:
        if not FINGERPRINT.match(fingerprint):
            raise DeviceSettingError("the fingerprint must be a SHA-256: 64 hexadecimal digits")
        fingerprint = normalise_fingerprint(fingerprint)
    values: dict[str, str | None] = {
        "endpoint": endpoint,
        "tls_ca_file": (ca_file or "").strip() or None,
        "tls_fingerprint": fingerprint,
    }
    if token is not KEEP:
        token = (token or "").strip() or None
        if token is not None and len(token) < 16:
            raise DeviceSettingError("a token must have at least 16 characters")
        values["token"] = token
    with writing():
        Device.update(**values).where(Device.id == device_id).execute()


@dataclass(frozen=True)
class ConnectionSettings:
    """What the connection dialog shows: everything but the token itself."""

    endpoint: str
    ca_file: str
    fingerprint: str
    has_token: bool


def connection_settings(device_id: int) -> ConnectionSettings:
    query = Device.select(
        Device.endpoint, Device.tls_ca_file, Device.tls_fingerprint, Device.token
    ).where(Device.id == device_id)
    endpoint, ca_file, fingerprint, token = one(
        query, tuple[str | None, str | None, str | None, str | None]
    )
    return ConnectionSettings(endpoint or "", ca_file or "", fingerprint or "", bool(token))
