"""Writing a fleet-file document as text, piece by piece: the applications, then the devices
as they come (a generator reading the database), so that 100k devices are never held at once.

The text is what PyYAML's ``safe_dump(document, sort_keys=False, allow_unicode=True,
width=100)`` or ``json.dumps(document, indent=2, ensure_ascii=False)`` gives for the whole
document. YAML devices are written by a small writer that knows the device layout and asks
PyYAML (libyaml's emitter where present) how to write each distinct value once; a device with
anything it is not sure of (a value that would wrap or span lines, an odd key) is written by
PyYAML itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any, NotRequired, TypedDict

import yaml

from appupdater.store.models import Labels


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


_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
WIDTH = 100
BATCH = 1000  # devices per piece written


def _dump(data: Any) -> str:
    return str(yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=WIDTH))


def yaml_chunks(
    applications: list[ApplicationEntry], devices: Iterable[DeviceEntry]
) -> Iterator[str]:
    """The YAML text of the document, in pieces."""
    yield _dump({"applications": applications})
    header = "devices:\n"
    for batch in _batches(devices):
        yield header + "".join(_device_yaml(device) for device in batch)
        header = ""
    if header:
        yield "devices: []\n"


def json_chunks(
    applications: list[ApplicationEntry], devices: Iterable[DeviceEntry]
) -> Iterator[str]:
    """The JSON text of the document, in pieces."""
    head = json.dumps({"applications": applications}, indent=2, ensure_ascii=False)
    yield head[: -len("\n}")] + ',\n  "devices": ['
    separator = "\n    "
    for batch in _batches(devices):
        pieces = []
        for device in batch:
            text = json.dumps(device, indent=2, ensure_ascii=False, allow_nan=False)
            pieces.append(separator + text.replace("\n", "\n    "))
            separator = ",\n    "
        yield "".join(pieces)
    yield "]\n}\n" if separator == "\n    " else "\n  ]\n}\n"


def _batches(devices: Iterable[DeviceEntry]) -> Iterator[list[DeviceEntry]]:
    batch: list[DeviceEntry] = []
    for device in devices:
        batch.append(device)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


class _NotSure(Exception):
    """A value the device writer leaves to PyYAML."""


# text PyYAML writes plain, unless its resolver reads it as something else (a number, true...)
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+-]*")
_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"


def _value(value: Any, column: int) -> str:
    """`value` as PyYAML writes it after ``key: `` when that starts at `column`."""
    if value.__class__ is str and _plain(value):
        return str(value)
    text = _written(value, False)
    if text is None or (" " in text and column + len(text) > WIDTH - 20):
        raise _NotSure  # it may wrap (PyYAML breaks long lines at spaces)
    return text


def _key(key: Any) -> str:
    if key.__class__ is str and _plain(key):
        return str(key)
    text = _written(key, True)
    if text is None or len(text) > WIDTH // 2:
        raise _NotSure
    return text


def _plain(text: str) -> bool:
    """Whether PyYAML writes `text` as it is: only safe characters, and not something its
    resolver would read back as another type (checked only for a first character that can
    start one: digits, signs, '.', y/n/t/f/o, '~'...)."""
    if _PLAIN.fullmatch(text) is None:
        return False
    return text[0] not in _RESOLVER.yaml_implicit_resolvers or _reads_as_text(text)


@lru_cache(maxsize=4096)
def _reads_as_text(text: str) -> bool:
    resolve: Any = _RESOLVER.resolve
    return bool(resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG)


@lru_cache(maxsize=16384)
def _written_cached(kind: type, value: Any, as_key: bool) -> str | None:
    text = _dump({value: 0} if as_key else {"k": value})
    if as_key:
        return text[: -len(": 0\n")] if text.endswith(": 0\n") and text.count("\n") == 1 else None
    return text[len("k: ") : -1] if text.startswith("k: ") and text.count("\n") == 1 else None


def _written(value: Any, as_key: bool) -> str | None:
    """How PyYAML writes the scalar `value` on one line, or None when it takes more."""
    if value.__class__ is str and len(value) > WIDTH:
        return None
    return _written_cached(value.__class__, value, as_key)


def _device_yaml(device: DeviceEntry) -> str:
    """One device as an item of the top-level ``devices:`` list."""
    try:
        lines = [f"- name: {_value(device['name'], 8)}\n  site: {_value(device['site'], 8)}\n"]
        labels = device.get("labels")
        if labels:
            lines.append("  labels:\n")
            for key, value in labels.items():
                written = _key(key)
                lines.append(f"    {written}: {_value(value, 6 + len(written))}\n")
        for field in ("endpoint", "ca_file", "fingerprint"):
            if field in device:
                text = device[field]
                lines.append(f"  {field}: {_value(text, 4 + len(field))}\n")
        applications = device["applications"]
        if not applications:
            lines.append("  applications: {}\n")
        else:
            lines.append("  applications:\n")
            for app, state in applications.items():
                if not state:
                    lines.append(f"    {_key(app)}: {{}}\n")
                    continue
                lines.append(f"    {_key(app)}:\n")
                for field in ("configured", "installed"):
                    if field in state:
                        text = state[field]  # type: ignore[literal-required]
                        lines.append(f"      {field}: {_value(text, 8 + len(field))}\n")
    except _NotSure:
        return _dump([device])
    return "".join(lines)
