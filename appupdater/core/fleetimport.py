"""Importing a checked `Fleet` into the store (all or nothing); exporting is in `fleetexport`.

Names are the keys: an import adds what is new and updates what differs, and never deletes.
Importing the same file twice changes nothing the second time.

Configurations follow the rules of runs: an import never sets a configured version earlier than
the stored one, nor clears one (the stored version is kept and counted in
`configurations_kept`; only a rollback or a revert goes back). Every device whose configured
map the import changed, and every new device, gets a revision "import of FILE" in the import's
transaction (see store/config_revisions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appupdater.core import audit
from appupdater.core.catalog import MODULE_FIELDS
from appupdater.core.fleetchecks import Problems

# export lives in fleetexport; these two names stay here for callers written before the split
from appupdater.core.fleetconnections import (
    MEANING,
    SAID,
    ConnectionChange,
    audited,
    counts,
    merged,
)
from appupdater.core.fleetexport import export_file, fleet_document
from appupdater.core.fleetfile import Fleet, ModuleSpec, read_fleet
from appupdater.core.identity import who
from appupdater.core.versions import VersionKey, order_key, parse_version
from appupdater.core.words import plural
from appupdater.errors import VersionError
from appupdater.heap import gc_paused
from appupdater.store.bulk import insert_rows, update_rows
from appupdater.store.config_revisions import configured_maps, lock_devices, record_revisions
from appupdater.store.db import writing
from appupdater.store.fields import utcnow
from appupdater.store.models import Application, AppVersion, Device, DeviceApp, Labels, Module
from appupdater.store.rows import tuples

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class ImportSummary:
    """What an import changed; all zeros for a file already imported."""

    applications_added: int = 0
    versions_added: int = 0
    versions_changed: int = 0
    devices_added: int = 0
    devices_changed: int = 0
    device_versions_changed: int = 0
    # configured versions the file gives earlier than (or without) the stored one: kept
    configurations_kept: int = 0
    # devices whose endpoint, CA file or fingerprint changed (each change is in the audit
    # entry), and per key the devices given a new value or cleared (fleetconnections)
    connections_changed: int = 0
    endpoints_changed: int = 0
    endpoints_cleared: int = 0
    ca_files_changed: int = 0
    ca_files_cleared: int = 0
    fingerprints_changed: int = 0
    fingerprints_cleared: int = 0

    @property
    def changed_anything(self) -> bool:
        return any(v for k, v in vars(self).items() if k != "configurations_kept")

    def describe(self) -> str:
        if not self.changed_anything and not self.configurations_kept:
            return "nothing to change: the database already matches the file"
        parts = [
            (self.applications_added, "application", "added"),
            (self.versions_added, "version", "added"),
            (self.versions_changed, "version", "with changed modules"),
            (self.devices_added, "device", "added"),
            (self.devices_changed, "device", "changed"),
            (self.device_versions_changed, "device application version", "set"),
        ]
        # connections first: a status bar may cut the end, and these redirect or unpin a device
        said = [
            f"{words} on {plural(n, 'device')}{MEANING.get(field, '')}"
            for field, words in SAID.items()
            if (n := getattr(self, field))
        ]
        said += [f"{plural(n, what)} {how}" for n, what, how in parts if n]
        text = ", ".join(said)
        if self.configurations_kept:
            kept = plural(self.configurations_kept, "configured version")
            text += (
                f"{'; ' if text else ''}{kept} kept where the "
                "file gives an earlier one or none (configurations are never downgraded; roll "
                "back or revert instead)"
            )
        return text


def import_file(path: str | Path, progress: Progress | None = None) -> ImportSummary:
    """Read, check and import a fleet file. A file with mistakes raises `FleetFileError` with
    all of them, those in the file and those against the database together, and changes
    nothing."""
    with audit.refusing(audit.IMPORT, objects={"file": [str(path)]}):
        fleet, problems = read_fleet(path)  # a file that cannot be read is refused too
    return _import(fleet, problems, progress)


def import_fleet(fleet: Fleet, file: str, progress: Progress | None = None) -> ImportSummary:
    """Write `fleet` into the bound database in one transaction; see the module docstring."""
    return _import(fleet, Problems(file), progress)


def _import(fleet: Fleet, problems: Problems, progress: Progress | None) -> ImportSummary:
    """The import and its audit entry (the file and what changed) in one transaction; a file
    refused leaves only an entry saying so (docs/audit.md)."""
    with audit.refusing(audit.IMPORT, objects={"file": [problems.file]}):
        return _write(fleet, problems, progress)


def _write(fleet: Fleet, problems: Problems, progress: Progress | None) -> ImportSummary:
    report = progress or (lambda stage, done, total: None)
    with gc_paused(), writing():
        lock_devices()  # every device's configuration is read below; others' writes wait
        apps = dict(tuples(Application.select(Application.name, Application.id), tuple[str, int]))
        stored = _stored_versions()
        _check_against_store(fleet, problems, apps, stored)
        problems.raise_if_any()
        report("applications", 0, len(fleet.applications))
        apps_added, versions_added, versions_changed = _write_catalog(fleet, apps, stored)
        report("devices", 0, len(fleet.devices))
        devices_added, devices_changed, connections = _write_devices(fleet)
        states, kept = _write_device_apps(fleet, apps, stored, problems.file)
        report("devices", len(fleet.devices), len(fleet.devices))
        summary = ImportSummary(
            apps_added,
            versions_added,
            versions_changed,
            devices_added,
            devices_changed,
            states,
            kept,
            **counts(connections),
        )
        objects: dict[str, list[int | str]] = {"file": [problems.file]}
        note = audited(objects, summary.describe(), connections)
        audit.record(audit.IMPORT, objects=objects, note=note)
    return summary


def _stored_versions() -> dict[str, dict[str, int]]:
    """Application name -> version text -> version id."""
    result: dict[str, dict[str, int]] = {}
    query = AppVersion.select(Application.name, AppVersion.version, AppVersion.id).join(Application)
    for app, version, version_id in tuples(query, tuple[str, str, int]):
        result.setdefault(app, {})[version] = version_id
    return result


def _check_against_store(
    fleet: Fleet, p: Problems, apps: dict[str, int], stored: dict[str, dict[str, int]]
) -> None:
    """Add to `p` what only the database shows: unknown applications and versions, and
    versions whose precedence clashes with a stored one."""
    known: dict[str, set[str]] = {name: set(stored.get(name, {})) for name in apps}
    for i, app in enumerate(fleet.applications):
        by_key = {
            order: text
            for text in stored.get(app.name, {})
            if (order := order_key(text))[0] == 0  # not one stored before the rules were strict
        }
        in_file = {v.version for v in app.versions}
        for j, version in enumerate(app.versions):
            other = by_key.get(order_key(version.version))
            # a clash with a version the file lists as well was reported by the file's checks
            if other is not None and other != version.version and other not in in_file:
                p.add(
                    f"applications[{i}].versions[{j}].version",
                    f"version '{version.version}' has the same precedence as '{other}', "
                    f"already stored for {app.name}",
                )
        known.setdefault(app.name, set()).update(v.version for v in app.versions)
    incomplete = fleet.incomplete  # a rejected entry may be what a device refers to
    unnamed = "" in incomplete
    for i, device in enumerate(fleet.devices):
        for app_name, state in device.applications.items():
            place = f"devices[{i}].applications.{app_name}"
            if app_name not in known:
                hint = " (an application entry of this file has a problem too)" if unnamed else ""
                p.add(place, f"unknown application '{app_name}'{hint}")
                continue
            hint = (
                " (one of its versions in this file has a problem too)"
                if app_name in incomplete
                else ""
            )
            for key in ("configured", "installed"):
                text = getattr(state, key)
                if text is not None and text not in known[app_name]:
                    p.add(
                        f"{place}.{key}",
                        f"unknown version '{text}' of application '{app_name}'{hint}",
                    )


def _write_catalog(
    fleet: Fleet, apps: dict[str, int], stored: dict[str, dict[str, int]]
) -> tuple[int, int, int]:
    added = versions_added = versions_changed = 0
    for app in fleet.applications:
        app_id = apps.get(app.name)
        if app_id is None:
            app_id = apps[app.name] = Application.create(
                name=app.name, description=app.description
            ).id
            added += 1
        else:
            Application.update(description=app.description).where(
                (Application.id == app_id) & (Application.description != app.description)
            ).execute()
        versions = stored.setdefault(app.name, {})
        for spec in app.versions:
            version_id = versions.get(spec.version)
            if version_id is None:
                version_id = versions[spec.version] = AppVersion.create(
                    application=app_id, version=spec.version
                ).id
                versions_added += 1
            elif _stored_modules(version_id) != spec.modules:
                Module.delete().where(Module.app_version == version_id).execute()
                versions_changed += 1
            else:
                continue
            Module.insert_many(
                [
                    (version_id, pos, m.name, m.version, m.image, m.artifact_url, m.artifact_sha256)
                    for pos, m in enumerate(spec.modules)
                ],
                fields=[
                    Module.app_version,
                    Module.position,
                    Module.name,
                    Module.version,
                    Module.image,
                    Module.artifact_url,
                    Module.artifact_sha256,
                ],
            ).execute()
    return added, versions_added, versions_changed


def _stored_modules(version_id: int) -> tuple[ModuleSpec, ...]:
    query = Module.select(*MODULE_FIELDS).where(Module.app_version == version_id)
    rows = tuples(query.order_by(Module.position), tuple[str, str, str, str | None, str | None])
    return tuple(ModuleSpec(*row) for row in rows)


_DEVICE_FIELDS = (
    Device.site,
    Device.labels,
    Device.endpoint,
    Device.tls_ca_file,
    Device.tls_fingerprint,
    Device.token,
)


def _write_devices(fleet: Fleet) -> tuple[int, int, list[ConnectionChange]]:
    """New devices are added, changed ones updated. A device's token is replaced only by a file
    that gives one: exported files never carry tokens, and importing one back keeps them. Its
    endpoint, CA file and fingerprint likewise, unless the file gives the key as null (clears
    it): a file that leaves the endpoint out never turns a real device into a simulated one.
    Returns (added, changed, the connection changes)."""
    query = Device.select(Device.id, Device.name, *_DEVICE_FIELDS)
    existing = {
        name: (device_id, site, labels, (endpoint, ca_file, fingerprint), token)
        for device_id, name, site, labels, endpoint, ca_file, fingerprint, token in tuples(
            query, tuple[int, str, str, Labels, str | None, str | None, str | None, str | None]
        )
    }
    new_rows: list[tuple[object, ...]] = []
    changed_rows: list[tuple[object, ...]] = []
    connections: list[ConnectionChange] = []
    for spec in fleet.devices:
        labels = Device.labels.db_value(spec.labels)
        current = existing.get(spec.name)
        if current is None:
            given = (spec.endpoint, spec.ca_file, spec.fingerprint)
            new_rows.append((spec.name, True, spec.site, labels, *given, spec.token))
            continue
        device_id, *stored = current
        given, changed = merged(spec, current[3])
        connections += changed
        token = current[4] if spec.token is None else spec.token
        if stored != [spec.site, spec.labels, given, token]:
            changed_rows.append((spec.site, labels, *given, token, device_id))
    insert_rows(Device, (Device.name, Device.online, *_DEVICE_FIELDS), new_rows)
    update_rows(Device, _DEVICE_FIELDS, changed_rows)
    return len(new_rows), len(changed_rows), connections


def _write_device_apps(
    fleet: Fleet, apps: dict[str, int], stored: dict[str, dict[str, int]], file: str
) -> tuple[int, int]:
    """Write the devices' application versions; returns (rows changed, configured versions
    kept because the file's is earlier or missing). Writes the revisions of the changed
    configurations."""
    maps = configured_maps()
    device_ids = dict(tuples(Device.select(Device.name, Device.id), tuple[str, int]))
    query = DeviceApp.select(
        DeviceApp.id,
        DeviceApp.device,
        DeviceApp.application,
        DeviceApp.configured,
        DeviceApp.installed,
    )
    existing = {
        (device_id, app_id): (row_id, configured, installed)
        for row_id, device_id, app_id, configured, installed in tuples(
            query, tuple[int, int, int, int | None, int | None]
        )
    }
    order = {i: _key(text) for versions in stored.values() for text, i in versions.items()}
    new_rows: list[tuple[int, int, int | None, int | None]] = []
    changed_rows: list[tuple[int | None, int | None, int]] = []
    revised: dict[int, tuple[int, dict[int, int]]] = {}
    kept = 0
    for spec in fleet.devices:
        device_id = device_ids[spec.name]
        config = maps.get(device_id)
        before = config.configured if config is not None else {}
        after = dict(before)
        for app_name, state in spec.applications.items():
            versions = stored[app_name]
            configured = versions[state.configured] if state.configured else None
            installed = versions[state.installed] if state.installed else None
            app_id = apps[app_name]
            current = existing.get((device_id, app_id))
            if installed is None and current is not None:
                installed = current[2]  # what the device reported: a file leaving it out keeps it
            held = before.get(app_id)
            if held is not None and (configured is None or _earlier(order, configured, held)):
                kept += configured != held
                configured = held  # never downgraded, never cleared
            if configured is not None:
                after[app_id] = configured
            if current is None:
                new_rows.append((device_id, app_id, configured, installed))
            elif (current[1], current[2]) != (configured, installed):
                changed_rows.append((configured, installed, current[0]))
        if config is None or config.number == 0 or after != before:
            revised[device_id] = (config.number if config else 0, after)
    insert_rows(
        DeviceApp,
        (DeviceApp.device, DeviceApp.application, DeviceApp.configured, DeviceApp.installed),
        new_rows,
    )
    update_rows(DeviceApp, (DeviceApp.configured, DeviceApp.installed), changed_rows)
    record_revisions(revised, at=utcnow(), by=who().user, reason=f"import of {Path(file).name}")
    return len(new_rows) + len(changed_rows), kept


def _key(text: str) -> VersionKey | None:
    """A stored version's precedence; None for one stored before the rules were strict."""
    try:
        return parse_version(text).key
    except VersionError:
        return None


def _earlier(order: dict[int, VersionKey | None], a: int, b: int) -> bool:
    """Whether version `a` precedes `b` (never judged for a version that does not parse)."""
    ka, kb = order[a], order[b]
    return ka is not None and kb is not None and ka < kb


__all__ = [
    "ImportSummary",
    "Progress",
    "export_file",
    "fleet_document",
    "import_file",
    "import_fleet",
]
