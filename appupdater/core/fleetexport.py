"""Exporting the store as a fleet file (docs/fleet-file.md), written so that a failed export
leaves neither a half-written file nor a stray temporary one, and says why in one sentence."""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
from pathlib import Path
from typing import NotRequired, TypedDict

import yaml

from appupdater.core.catalog import MODULE_FIELDS
from appupdater.core.fleetfile import file_format
from appupdater.core.versions import parse_version
from appupdater.errors import ExportError
from appupdater.store.models import Application, AppVersion, Device, DeviceApp, Labels, Module
from appupdater.store.rows import tuples


class ArtifactEntry(TypedDict):
    url: str
    sha256: str | None


class ModuleEntry(TypedDict):
    name: str
    version: str
    image: NotRequired[str]
    artifact: NotRequired[ArtifactEntry]


class VersionEntry(TypedDict):
    version: str
    modules: list[ModuleEntry]


class ApplicationEntry(TypedDict):
    name: str
    description: NotRequired[str]
    versions: list[VersionEntry]


class DeviceAppEntry(TypedDict, total=False):
    configured: str
    installed: str


class DeviceConnectionEntry(TypedDict, total=False):
    labels: Labels
    endpoint: str
    ca_file: str
    fingerprint: str


class DeviceEntry(DeviceConnectionEntry):
    name: str
    site: str
    applications: dict[str, DeviceAppEntry]


class FleetDocument(TypedDict):
    """A fleet file as written (docs/fleet-file.md); keys in the order they are written."""

    applications: list[ApplicationEntry]
    devices: list[DeviceEntry]


def fleet_document() -> FleetDocument:
    """The whole store as a fleet-file document (applications, then devices, sorted by name)."""
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
        ordered = sorted(versions.get(app_id, []), key=lambda v: parse_version(v[0]).key)
        app_versions: list[VersionEntry] = [
            {"version": text, "modules": modules.get(vid, [])} for text, vid in ordered
        ]
        if description:
            applications.append(
                {"name": name, "description": description, "versions": app_versions}
            )
        else:
            applications.append({"name": name, "versions": app_versions})
    states: dict[int, dict[str, DeviceAppEntry]] = {}
    state_query = DeviceApp.select(
        DeviceApp.device, DeviceApp.application, DeviceApp.configured, DeviceApp.installed
    )
    for device_id, app_id, configured, installed in tuples(
        state_query, tuple[int, int, int | None, int | None]
    ):
        state: DeviceAppEntry = {}
        if configured is not None:
            state["configured"] = version_text[configured]
        if installed is not None:
            state["installed"] = version_text[installed]
        states.setdefault(device_id, {})[app_names[app_id]] = state
    devices: list[DeviceEntry] = []
    # tokens stay in the database: an exported file is shared, printed, checked in
    device_query = Device.select(
        Device.id,
        Device.name,
        Device.site,
        Device.labels,
        Device.endpoint,
        Device.tls_ca_file,
        Device.tls_fingerprint,
    ).order_by(Device.name)
    for device_id, name, site, labels, endpoint, ca_file, fingerprint in tuples(
        device_query, tuple[int, str, str, Labels, str | None, str | None, str | None]
    ):
        connection: DeviceConnectionEntry = {}
        if labels:
            connection["labels"] = labels
        if endpoint:
            connection["endpoint"] = endpoint
        if ca_file:
            connection["ca_file"] = ca_file
        if fingerprint:
            connection["fingerprint"] = fingerprint
        applications_of = dict(sorted(states.get(device_id, {}).items()))
        devices.append({"name": name, "site": site, **connection, "applications": applications_of})
    return {"applications": applications, "devices": devices}


def export_file(path: str | Path) -> int:
    """Write the store to `path` (YAML or JSON by its name) atomically; returns the device count.
    Raises `ExportError` naming the file and why it cannot be written."""
    path = Path(path)
    kind = file_format(path)
    _check_target(path)
    document = fleet_document()
    if kind == "json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    try:
        _write_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        reason = _REASONS.get(exc.errno or 0)
        if exc.errno == errno.ENOENT and path.parent.is_dir():
            reason = None  # e.g. /proc: the folder is there but takes no new files
        raise _cannot_write(path, reason, exc) from exc
    return len(document["devices"])


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


def _write_atomically(path: Path, data: bytes) -> None:
    """Write beside `path` under a hidden temporary name, then rename it over `path`; on any
    failure the temporary file is removed and `path` is as it was."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            if path.exists():  # keep the permissions someone gave the file
                os.fchmod(fd, stat.S_IMODE(path.stat().st_mode))
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
