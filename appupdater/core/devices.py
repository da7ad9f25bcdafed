"""Devices as their agents report them: connection settings, and what a probe found.

A probe keeps `online` and `last_seen_at`, and the *installed* versions as the device reports
them — a device that fell back to an older version shows as behind again, and drifted — and its
active modules with their health and its drift (`DeviceHealth`, see core/health.py). Versions
the catalog does not know are left out (and named in the returned notes)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import peewee
from peewee import chunked

from appupdater.core import audit
from appupdater.core.fleetchecks import FINGERPRINT, check_endpoint, normalise_fingerprint
from appupdater.core.health import AppState, drift_of, summarise
from appupdater.core.jobs import Connection
from appupdater.core.urls import redacted_url
from appupdater.errors import DeviceSettingError
from appupdater.store.bulk import update_rows
from appupdater.store.db import writing
from appupdater.store.models import (
    Application,
    AppVersion,
    Device,
    DeviceApp,
    DeviceHealth,
    Labels,
    Module,
)
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
    modules: dict[str, str] = field(default_factory=dict)  # active module -> version
    health: dict[str, str] = field(default_factory=dict)  # module -> the agent's health text


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
    """Write what the probes found — online, installed versions, modules, health, drift — in
    one transaction of bulk statements; returns notes on what was left out."""
    if not reports:
        return []
    catalog = _ProbeCatalog.load()
    answered = {r.device_id for r in reports if r.online}
    names = dict(tuples(Device.select(Device.id, Device.name), tuple[int, str]))
    with writing():
        states = _device_states(answered)
        drifted = {
            d
            for (d,) in tuples(
                DeviceHealth.select(DeviceHealth.device).where(DeviceHealth.drift.is_null(False)),
                tuple[int],
            )
        }
        notes: list[str] = []
        changed: list[tuple[int, int, int]] = []  # installed version, device, application
        added: list[tuple[int, int, int]] = []  # device, application, installed version
        health_rows = []
        for report in reports:
            if not report.online:
                continue
            rows = states.get(report.device_id, {})
            apps = []
            for app, text in report.installed.items():
                app_id = catalog.apps.get(app)
                version_id = catalog.version_ids.get((app_id, text)) if app_id else None
                if app_id is None or version_id is None:
                    notes.append(
                        f"{names.get(report.device_id)} runs {app} {text}, not in the catalog"
                    )
                    continue
                row = rows.get(app_id)
                if row is None:
                    added.append((report.device_id, app_id, version_id))
                elif row[1] != version_id:
                    changed.append((version_id, report.device_id, app_id))
            for app_id, (configured, installed) in rows.items():
                app = catalog.app_names[app_id]
                apps.append(
                    AppState(
                        app,
                        catalog.texts.get(configured) if configured else None,
                        catalog.texts.get(installed) if installed else None,
                        report.installed.get(app),
                        catalog.modules.get(configured, {}) if configured else {},
                    )
                )
            summary = summarise(report.modules, report.health)
            drift = drift_of(apps, report.modules, report.device_id in drifted)
            health_rows.append(
                (
                    report.device_id,
                    summary.modules,
                    summary.health.value,
                    summary.detail,
                    now,
                    drift,
                )
            )
        _write(reports, now, changed, added, health_rows)
    return notes


@dataclass
class _ProbeCatalog:
    apps: dict[str, int]  # name -> id
    app_names: dict[int, str]
    version_ids: dict[tuple[int, str], int]
    texts: dict[int, str]  # version id -> version
    modules: dict[int, dict[str, str]]  # version id -> module -> version

    @classmethod
    def load(cls) -> _ProbeCatalog:
        apps = dict(tuples(Application.select(Application.name, Application.id), tuple[str, int]))
        query = AppVersion.select(AppVersion.id, AppVersion.application, AppVersion.version)
        version_ids, texts = {}, {}
        for version_id, app_id, text in tuples(query, tuple[int, int, str]):
            version_ids[(app_id, text)] = version_id
            texts[version_id] = text
        modules: dict[int, dict[str, str]] = {}
        module_query = Module.select(Module.app_version, Module.name, Module.version)
        for version_id, name, version in tuples(module_query, tuple[int, str, str]):
            modules.setdefault(version_id, {})[name] = version
        return cls(apps, {i: n for n, i in apps.items()}, version_ids, texts, modules)


def _device_states(devices: set[int]) -> dict[int, dict[int, tuple[int | None, int | None]]]:
    """device -> application -> (configured, installed) version ids, of the given devices."""
    query = DeviceApp.select(
        DeviceApp.device, DeviceApp.application, DeviceApp.configured, DeviceApp.installed
    )
    states: dict[int, dict[int, tuple[int | None, int | None]]] = {}
    for device, app, configured, installed in tuples(
        query, tuple[int, int, int | None, int | None]
    ):
        if device in devices:
            states.setdefault(device, {})[app] = (configured, installed)
    return states


CHUNK = 500  # rows per multi-row statement: well under SQLite's limit of variables


def _write(
    reports: list[ProbeReport],
    now: datetime,
    changed: list[tuple[int, int, int]],
    added: list[tuple[int, int, int]],
    health_rows: Sequence[tuple[object, ...]],
) -> None:
    seen_at = Device.last_seen_at.db_value(now)
    online = [(True, seen_at, r.device_id) for r in reports if r.online]
    offline = [(False, r.device_id) for r in reports if not r.online]
    if online:
        update_rows(Device, [Device.online, Device.last_seen_at], online)
    if offline:
        update_rows(Device, [Device.online], offline)
    if changed:
        keys: list[peewee.Field] = [DeviceApp.device, DeviceApp.application]
        update_rows(DeviceApp, [DeviceApp.installed], changed, keys=keys)
    app_fields = [DeviceApp.device, DeviceApp.application, DeviceApp.installed]
    for batch in chunked(added, CHUNK):
        DeviceApp.insert_many(batch, fields=app_fields).on_conflict_ignore().execute()
    health_fields = [
        DeviceHealth.device,
        DeviceHealth.modules,
        DeviceHealth.health,
        DeviceHealth.detail,
        DeviceHealth.at,
        DeviceHealth.drift,
    ]
    for health_batch in chunked(health_rows, CHUNK):
        DeviceHealth.insert_many(health_batch, fields=health_fields).on_conflict(
            conflict_target=[DeviceHealth.device], preserve=health_fields[1:]
        ).execute()


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
    text removes it); it is never read back by the user interface, nor recorded in the audit
    trail (its entry says only whether the token changed)."""
    (name,) = one(Device.select(Device.name).where(Device.id == device_id), tuple[str])
    with audit.refusing(audit.CONNECTION, objects={"devices": [name]}):
        values = _connection_values(endpoint, ca_file, fingerprint, token)
    with writing():
        query = Device.select(Device.endpoint, Device.tls_ca_file, Device.tls_fingerprint)
        before = one(query.where(Device.id == device_id), tuple[str | None, str | None, str | None])
        stored_token = Device.select(Device.token).where(Device.id == device_id).scalar()
        Device.update(**values).where(Device.id == device_id).execute()
        note = _connection_note(before, values, stored_token)
        audit.record(audit.CONNECTION, objects={"devices": [name]}, note=note)


def _connection_values(
    endpoint: str | None, ca_file: str | None, fingerprint: str | None, token: str | _Keep | None
) -> dict[str, str | None]:
    """The columns to store, checked; raises DeviceSettingError in words."""
    endpoint = (endpoint or "").strip() or None
    if endpoint is not None and (problem := check_endpoint(endpoint)):
        # the words reach the audit trail: the endpoint without a password, path or query
        raise DeviceSettingError(f"endpoint {redacted_url(endpoint)} {problem}")
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
    return values


def _connection_note(
    before: tuple[str | None, str | None, str | None],
    values: dict[str, str | None],
    stored_token: str | None,
) -> str:
    """What a connection change did, in words — never the token itself."""
    parts = []
    for (label, key), old in zip(
        (("endpoint", "endpoint"), ("CA file", "tls_ca_file"), ("fingerprint", "tls_fingerprint")),
        before,
        strict=True,
    ):
        new = values[key]
        if key == "endpoint" or new != old:
            shown = new or ("none (simulated)" if key == "endpoint" else "none")
            parts.append(f"{label} {shown}" if new == old else f"{label} {old or 'none'} → {shown}")
    if "token" not in values or values["token"] == stored_token:
        parts.append("token unchanged")
    else:
        parts.append("token removed" if values["token"] is None else "token changed")
    return "; ".join(parts)


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
