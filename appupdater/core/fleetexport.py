"""Exporting the store as a fleet file (docs/fleet-file.md), written so that a failed export
leaves neither a half-written file nor a stray temporary one, and says why in one sentence."""

from __future__ import annotations

import errno
import logging
import math
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

import peewee

from appupdater.core import audit
from appupdater.core.catalog import MODULE_FIELDS
from appupdater.core.fleetfile import file_format
from appupdater.core.fleetwrite import (
    ApplicationEntry,
    DeviceAppEntry,
    DeviceConnectionEntry,
    DeviceEntry,
    FleetDocument,
    ModuleEntry,
    VersionEntry,
    json_chunks,
    yaml_chunks,
)
from appupdater.core.versions import order_key
from appupdater.core.words import plural
from appupdater.errors import ExportError
from appupdater.store.db import writing
from appupdater.store.models import (
    Application,
    AppVersion,
    Device,
    DeviceApp,
    Labels,
    Module,
    db,
)
from appupdater.store.rows import tuples

log = logging.getLogger("appupdater")


def fleet_document() -> FleetDocument:
    """The whole store as a fleet-file document (applications, then devices, sorted by name).
    `export_file` writes the same document without holding it all at once."""
    with db.atomic():
        applications, version_text, app_names = _applications()
        devices = list(_devices(version_text, app_names))
    return {"applications": applications, "devices": devices}


def _applications() -> tuple[list[ApplicationEntry], dict[int, str], dict[int, str]]:
    """Every application with its versions and modules (a few hundred rows, not per device),
    and the version texts and application names by id, for the devices."""
    modules: dict[int, list[ModuleEntry]] = {}
    module_query = Module.select(Module.app_version, *MODULE_FIELDS).order_by(
        Module.app_version, Module.position
    )
    for version_id, name, version, image, url, sha256 in tuples(
        module_query, tuple[int, str, str, str, str | None, str | None]
    ):
        module: ModuleEntry = {"name": name, "version": version}
        if image or not url:
            module["image"] = image
        if url:
            module["artifact"] = {"url": url, "sha256": sha256}
        modules.setdefault(version_id, []).append(module)
    versions: dict[int, list[tuple[str, int]]] = {}
    version_text: dict[int, str] = {}
    version_query = AppVersion.select(AppVersion.id, AppVersion.application, AppVersion.version)
    for version_id, app_id, text in tuples(version_query, tuple[int, int, str]):
        versions.setdefault(app_id, []).append((text, version_id))
        version_text[version_id] = text
    app_names = {}
    applications: list[ApplicationEntry] = []
    app_query = Application.select(
        Application.id, Application.name, Application.description
    ).order_by(Application.name)
    for app_id, name, description in tuples(app_query, tuple[int, str, str]):
        app_names[app_id] = name
        ordered = sorted(versions.get(app_id, []), key=lambda v: order_key(v[0]))
        app_versions: list[VersionEntry] = [
            {"version": text, "modules": modules.get(vid, [])} for text, vid in ordered
        ]
        if description:
            applications.append(
                {"name": name, "description": description, "versions": app_versions}
            )
        else:
            applications.append({"name": name, "versions": app_versions})
    return applications, version_text, app_names


_DeviceRow = tuple[
    int, str, str, Labels, str | None, str | None, str | None, int | None, int | None, int | None
]


def _devices(version_text: dict[int, str], app_names: dict[int, str]) -> Iterator[DeviceEntry]:
    """The devices by name, each with its applications, read row by row (one query, a device
    and its applications side by side), never all at once."""
    # tokens stay in the database: an exported file is shared, printed, checked in
    query = (
        Device.select(
            Device.id,
            Device.name,
            Device.site,
            Device.labels,
            Device.endpoint,
            Device.tls_ca_file,
            Device.tls_fingerprint,
            DeviceApp.application,
            DeviceApp.configured,
            DeviceApp.installed,
        )
        .join(DeviceApp, peewee.JOIN.LEFT_OUTER, on=DeviceApp.device == Device.id)
        .order_by(Device.name, Device.id)
    )
    rows = cast("Iterator[_DeviceRow]", query.tuples().iterator())
    current: tuple[int, str, str, DeviceConnectionEntry] | None = None
    states: dict[str, DeviceAppEntry] = {}
    for device_id, name, site, labels, endpoint, ca_file, fingerprint, app, conf, inst in rows:
        if current is None or device_id != current[0]:
            if current is not None:
                yield _entry(current, states)
            _check_labels(name, labels)
            connection: DeviceConnectionEntry = {}
            if labels:
                connection["labels"] = labels
            if endpoint:
                connection["endpoint"] = endpoint
            if ca_file:
                connection["ca_file"] = ca_file
            if fingerprint:
                connection["fingerprint"] = fingerprint
            current, states = (device_id, name, site, connection), {}
        if app is not None:
            state: DeviceAppEntry = {}
            if conf is not None:
                state["configured"] = version_text[conf]
            if inst is not None:
                state["installed"] = version_text[inst]
            states[app_names[app]] = state
    if current is not None:
        yield _entry(current, states)


def _entry(
    device: tuple[int, str, str, DeviceConnectionEntry], states: dict[str, DeviceAppEntry]
) -> DeviceEntry:
    _, name, site, connection = device
    return {"name": name, "site": site, **connection, "applications": dict(sorted(states.items()))}


class _CannotHold(Exception):
    """A stored value a fleet file cannot hold; the message says which, without the file."""


def _check_labels(device: str, labels: Labels) -> None:
    for key, value in labels.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise _CannotHold(
                f"device '{device}' has the label '{key}' = {value}, and a fleet file holds "
                "only finite numbers; change the label first"
            )


def export_file(path: str | Path) -> int:
    """Write the store to `path` (YAML or JSON by its name) atomically; returns the device count.
    The devices are written as they are read from the database. Raises `ExportError` naming
    the file and why it cannot be written. Audited once the file is written (the file and the
    device count), or as refused with that message."""
    path = Path(path)
    with audit.refusing(audit.EXPORT, objects={"file": [str(path)]}):
        count = _export(path)
    try:
        with writing():
            note = plural(count, "device")
            audit.record(audit.EXPORT, objects={"file": [str(path)]}, note=note)
    except peewee.DatabaseError as exc:  # the file is written: a read-only database exports too
        log.warning("the export to %s could not be recorded in the audit trail: %s", path, exc)
    return count


def _export(path: Path) -> int:
    kind = file_format(path)
    _check_target(path)
    count = [0]
    try:
        with db.atomic():  # one consistent view of the store, however long the writing takes
            applications, version_text, app_names = _applications()
            devices = _counted(_devices(version_text, app_names), count)
            if kind == "json":
                chunks = json_chunks(applications, devices)
            else:
                chunks = yaml_chunks(applications, devices)
            _write_atomically(path, chunks)
    except _CannotHold as exc:
        raise ExportError(f"cannot write {path}: {exc}") from exc
    except OSError as exc:
        reason = _REASONS.get(exc.errno or 0)
        if exc.errno == errno.ENOENT and path.parent.is_dir():
            reason = None  # e.g. /proc: the folder is there but takes no new files
        raise _cannot_write(path, reason, exc) from exc
    return count[0]


def _counted(devices: Iterator[DeviceEntry], count: list[int]) -> Iterator[DeviceEntry]:
    for device in devices:
        count[0] += 1
        yield device


# why a write failed, by errno, in words ({folder}: where the file goes); never the number
_REASONS = {
    errno.ENOENT: "the folder {folder} does not exist",
    errno.EACCES: "you have no permission to write in the folder {folder}",
    errno.EPERM: "you have no permission to write in the folder {folder}",
    errno.EISDIR: "it is a folder; give a file name inside it",
    errno.ENOTDIR: "{folder} is not a folder",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "your disk quota is used up",
    errno.EROFS: "the folder {folder} is on a read-only disk",
    errno.ENAMETOOLONG: "the file name is too long",
}


def _cannot_write(path: Path, reason: str | None, exc: OSError | None = None) -> ExportError:
    """One sentence that writes the path once: the file by its name where the reason names
    its folder, in full otherwise."""
    folder = path.absolute().parent
    if reason is None:
        reason = (exc.strerror if exc is not None and exc.strerror else "it failed").lower()
    name = path.name if "{folder}" in reason else str(path)
    return ExportError(f"cannot write {name}: {reason.format(folder=folder)}")


def _check_target(path: Path) -> None:
    """Refuse a target that cannot work before reading the whole store for it."""
    if path.is_dir():
        raise _cannot_write(path, _REASONS[errno.EISDIR])
    if not path.parent.exists():
        raise _cannot_write(path, _REASONS[errno.ENOENT])
    if not path.parent.is_dir():
        raise _cannot_write(path, "{folder} is a file, not a folder")


def _write_atomically(path: Path, chunks: Iterable[str]) -> None:
    """Write `chunks` beside `path` under a hidden temporary name, then rename it over `path`;
    on any failure the temporary file is removed and `path` is as it was."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            if path.exists():  # keep the permissions someone gave the file
                os.fchmod(fd, stat.S_IMODE(path.stat().st_mode))
            for chunk in chunks:
                view = memoryview(chunk.encode("utf-8"))
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
