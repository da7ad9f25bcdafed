"""Fleet files: reading and checking YAML or JSON into plain dataclasses.

The format is documented in docs/fleet-file.md (schema: docs/fleet-file.schema.json). Every
problem is reported with the file, its place (``devices[3].applications.line-monitor.installed``)
and what is wrong; all problems found are reported together. Checks that need the database
(unknown versions, precedence clashes with stored versions) happen in `fleetimport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appupdater.core.fleetchecks import (
    FINGERPRINT,
    REFUSED,
    Problems,
    check_artifact,
    check_endpoint,
    check_keys,
    check_labels,
    check_name,
    check_text,
    check_type,
    check_version_text,
    join_place,
    normalise_fingerprint,
    type_name,
    version_problem,
)
from appupdater.core.fleetparse import parse_text, screen
from appupdater.core.versions import VersionKey, parse_version
from appupdater.errors import FleetFileError
from appupdater.heap import gc_paused
from appupdater.store.models import Labels


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    version: str
    image: str = ""
    artifact_url: str | None = None
    artifact_sha256: str | None = None


@dataclass(frozen=True)
class VersionSpec:
    version: str
    modules: tuple[ModuleSpec, ...]


@dataclass(frozen=True)
class ApplicationSpec:
    name: str
    versions: tuple[VersionSpec, ...]
    description: str = ""


@dataclass(frozen=True)
class DeviceAppSpec:
    configured: str | None = None
    installed: str | None = None


CONNECTION_KEYS = ("endpoint", "ca_file", "fingerprint")
NOTHING_CLEARED: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    site: str = ""
    labels: Labels = field(default_factory=dict)
    endpoint: str | None = None
    applications: dict[str, DeviceAppSpec] = field(default_factory=dict)
    ca_file: str | None = None
    fingerprint: str | None = None
    token: str | None = field(default=None, repr=False)  # never printed
    # connection keys the file gives as null: cleared on import. A key the file leaves out
    # keeps what is stored (an import never turns a real device into a simulated one unasked)
    cleared: frozenset[str] = NOTHING_CLEARED


@dataclass(frozen=True)
class Fleet:
    applications: tuple[ApplicationSpec, ...] = ()
    devices: tuple[DeviceSpec, ...] = ()
    # applications whose entries had problems ("" for one without a usable name): what refers
    # to them is not checked against the database, the problem found already says what is wrong
    incomplete: frozenset[str] = frozenset()


# ---- reading ---------------------------------------------------------------------------------


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise FleetFileError(str(path), [("", "unknown format: name the file .yaml, .yml or .json")])


def read_fleet_file(path: str | Path) -> Fleet:
    """Read and check a fleet file; raises `FleetFileError` listing every problem."""
    fleet, problems = read_fleet(path)
    problems.raise_if_any()
    return fleet


def read_fleet(path: str | Path) -> tuple[Fleet, Problems]:
    """Read and check a fleet file: what of it is sound, and the problems found (not raised,
    so that an import adds those that only the database shows). A file that cannot be read or
    parsed at all raises `FleetFileError` at once."""
    path = Path(path)
    kind = file_format(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FleetFileError(str(path), [("", f"cannot be read: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise FleetFileError(str(path), [("", f"is not UTF-8 text ({exc.reason})")]) from exc
    with gc_paused():
        data, needs_screen = parse_text(text, kind, str(path))
        del text
        return check_fleet(data, str(path), screened=not needs_screen)


def parse_fleet_text(text: str, kind: str, file: str) -> Fleet:
    """Parse and check fleet-file text; raises `FleetFileError` listing every problem."""
    data, needs_screen = parse_text(text, kind, file)
    fleet, problems = check_fleet(data, file, screened=not needs_screen)
    problems.raise_if_any()
    return fleet


# ---- checking --------------------------------------------------------------------------------


def parse_fleet(data: Any, file: str) -> Fleet:
    """Check the parsed document `data` and turn it into a `Fleet`; raises `FleetFileError`."""
    fleet, problems = check_fleet(data, file)
    problems.raise_if_any()
    return fleet


def check_fleet(data: Any, file: str, *, screened: bool = False) -> tuple[Fleet, Problems]:
    """Check the parsed document `data`: the `Fleet` of what is sound in it, and the problems.
    `screened`: the reader already knows it holds no odd number and no deep nesting."""
    p = Problems(file)
    if not screened:
        data = screen(p, data)
    if data is None:
        data = {}
    if data is REFUSED:
        p.raise_if_any()
    if not isinstance(data, dict):
        p.add(
            "",
            f"the top level must be a mapping with 'applications' and/or 'devices', "
            f"not {type_name(data)}",
        )
        p.raise_if_any()
    check_keys(p, "", data, (), ("applications", "devices"))
    incomplete: set[str] = set()
    apps = _applications(p, data.get("applications", []), incomplete)
    devices = _devices(p, data.get("devices", []))
    return Fleet(tuple(apps), tuple(devices), frozenset(incomplete)), p


def _applications(p: Problems, value: Any, incomplete: set[str]) -> list[ApplicationSpec]:
    if not check_type(p, "applications", value, list):
        incomplete.add("")
        return []
    apps = []
    names: dict[str, int] = {}
    for i, item in enumerate(value):
        place = f"applications[{i}]"
        found = p.count
        if not check_type(p, place, item, dict):
            incomplete.add("")
            continue
        check_keys(p, place, item, ("name", "versions"), ("description",))
        # a missing name is already reported as a missing field
        name = check_name(p, f"{place}.name", item["name"]) if "name" in item else None
        if name is not None and name in names:
            p.add(
                f"{place}.name",
                f"application '{name}' is already defined at applications[{names[name]}]",
            )
        elif name is not None:
            names[name] = i
        description = check_text(
            p, f"{place}.description", item.get("description", ""), empty_ok=True
        )
        versions = _versions(p, place, item.get("versions", []))
        if name is not None:
            apps.append(ApplicationSpec(name, tuple(versions), description or ""))
        if p.count > found:
            incomplete.add(name or "")
    return apps


def _versions(p: Problems, app_place: str, value: Any) -> list[VersionSpec]:
    place = f"{app_place}.versions"
    if not check_type(p, place, value, list):
        return []
    versions = []
    seen: dict[VersionKey, tuple[int, str]] = {}
    for i, item in enumerate(value):
        vplace = f"{place}[{i}]"
        if not check_type(p, vplace, item, dict):
            continue
        check_keys(p, vplace, item, ("version", "modules"), ())
        text = (
            check_version_text(p, f"{vplace}.version", item["version"])
            if "version" in item
            else None
        )
        if text is not None:
            key = parse_version(text).key
            if key in seen:
                j, other = seen[key]
                what = (
                    "is listed twice" if other == text else f"has the same precedence as '{other}'"
                )
                p.add(f"{vplace}.version", f"version '{text}' {what} ({place}[{j}])")
            else:
                seen[key] = (i, text)
        modules = _modules(p, vplace, item.get("modules", []))
        if text is not None:
            versions.append(VersionSpec(text, tuple(modules)))
    return versions


def _modules(p: Problems, version_place: str, value: Any) -> list[ModuleSpec]:
    place = f"{version_place}.modules"
    if not check_type(p, place, value, list):
        return []
    modules = []
    names: dict[str, int] = {}
    for i, item in enumerate(value):
        mplace = f"{place}[{i}]"
        if not check_type(p, mplace, item, dict):
            continue
        if not check_keys(p, mplace, item, ("name", "version"), ("image", "artifact")):
            continue
        name = check_name(p, f"{mplace}.name", item["name"])
        version = check_name(p, f"{mplace}.version", item["version"])
        image = check_text(p, f"{mplace}.image", item.get("image", ""), empty_ok=True)
        url, sha256 = check_artifact(p, f"{mplace}.artifact", item.get("artifact"))
        if "image" not in item and "artifact" not in item:
            p.add(mplace, "needs an 'image', an 'artifact' ({url, sha256}), or both")
        if name is not None and name in names:
            p.add(f"{mplace}.name", f"module '{name}' is already listed at {place}[{names[name]}]")
            continue
        if name is not None:
            names[name] = i
        if name is not None and version is not None and image is not None:
            modules.append(ModuleSpec(name, version, image, url, sha256))
    return modules


def _devices(p: Problems, value: Any) -> list[DeviceSpec]:
    if not check_type(p, "devices", value, list):
        return []
    devices = []
    names: dict[str, int] = {}
    for i, item in enumerate(value):
        place = f"devices[{i}]"
        if not check_type(p, place, item, dict):
            continue
        check_keys(
            p,
            place,
            item,
            ("name",),
            ("site", "labels", "endpoint", "ca_file", "fingerprint", "token", "applications"),
        )
        # a missing name is already reported as a missing field
        name = check_text(p, f"{place}.name", item["name"]) if "name" in item else None
        if name is not None and name in names:
            p.add(f"{place}.name", f"device '{name}' is already defined at devices[{names[name]}]")
            name = None
        elif name is not None:
            names[name] = i
        site = check_text(p, f"{place}.site", item.get("site", ""), empty_ok=True)
        endpoint = item.get("endpoint")
        if endpoint is not None:
            endpoint = check_text(p, f"{place}.endpoint", endpoint)
            problem = check_endpoint(endpoint) if endpoint is not None else None
            if problem:
                p.add(f"{place}.endpoint", problem)
        ca_file = item.get("ca_file")
        if ca_file is not None:
            ca_file = check_text(p, f"{place}.ca_file", ca_file)
        fingerprint = item.get("fingerprint")
        if fingerprint is not None:
            fingerprint = check_text(p, f"{place}.fingerprint", fingerprint)
            if fingerprint is not None and not FINGERPRINT.match(fingerprint):
                p.add(f"{place}.fingerprint", "must be a SHA-256 fingerprint: 64 hex digits")
                fingerprint = None
            elif fingerprint is not None:
                fingerprint = normalise_fingerprint(fingerprint)
        token = item.get("token")
        if token is not None and token is not REFUSED:  # the value is never repeated
            if not isinstance(token, str) or len(token.strip()) < 16:
                p.add(f"{place}.token", "must be text of at least 16 characters")
                token = None
            else:
                token = token.strip()
        labels = check_labels(p, f"{place}.labels", item.get("labels", {}))
        apps = _device_apps(p, f"{place}.applications", item.get("applications", {}))
        # one shared empty set: 100,000 devices each holding their own took 22 MB
        cleared = (
            frozenset(k for k in CONNECTION_KEYS if k in item and item[k] is None)
            or NOTHING_CLEARED
        )
        if name is not None:
            devices.append(
                DeviceSpec(
                    name, site or "", labels, endpoint, apps, ca_file, fingerprint, token, cleared
                )
            )
    return devices


def _device_apps(p: Problems, place: str, value: Any) -> dict[str, DeviceAppSpec]:
    if value is None:
        return {}
    if not check_type(p, place, value, dict):
        return {}
    apps = {}
    for app, state in value.items():
        # the common case, without building a place for each value: both versions sound
        if type(app) is str and type(state) is dict and state.keys() <= _APP_STATE_KEYS:
            configured, installed = state.get("configured"), state.get("installed")
            if _sound_version(configured) and _sound_version(installed):
                apps[app] = DeviceAppSpec(configured, installed)
                continue
        if not isinstance(app, str):
            p.add(place, f"application name {app!r} must be text")
            continue
        aplace = join_place(place, app)
        if not check_type(p, aplace, state, dict):
            continue
        check_keys(p, aplace, state, (), ("configured", "installed"))
        versions = {}
        for key in ("configured", "installed"):
            text = state.get(key)
            versions[key] = (
                None if text is None else check_version_text(p, join_place(aplace, key), text)
            )
        apps[app] = DeviceAppSpec(versions["configured"], versions["installed"])
    return apps


_APP_STATE_KEYS = frozenset(("configured", "installed"))


def _sound_version(value: Any) -> bool:
    return value is None or (type(value) is str and version_problem(value) is None)
