"""The checks a fleet file's fields go through, and how their problems are collected: every
problem with its place (``devices[3].endpoint``) and what is wrong, all reported together.
The connection dialog checks endpoints and fingerprints with the same rules."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from appupdater.core.versions import parse_version
from appupdater.errors import FleetFileError, VersionError
from appupdater.names import name_problem
from appupdater.store.models import Labels

MAX_PROBLEMS = 1000  # kept in memory; the message shows the first few and counts the rest


class _Refused:
    """A value already reported where it stands (a NaN, a 5000-digit number, nesting 100
    levels deep): the field checks pass over it without a second problem."""

    def __repr__(self) -> str:
        return "<refused>"


REFUSED: Any = _Refused()


class Problems:
    """Collects (place, what) pairs and raises them as one `FleetFileError`, in the order of
    their places in the file (``devices[2]`` before ``devices[10]``)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[tuple[str, str]] = []
        self.dropped = 0

    def add(self, place: str, what: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append((place, what))
        else:
            self.dropped += 1

    @property
    def count(self) -> int:
        return len(self.items) + self.dropped

    def raise_if_any(self) -> None:
        if self.items:
            items = sorted(self.items, key=lambda item: _place_order(item[0]))
            raise FleetFileError(self.file, items, more=self.dropped)


def _place_order(place: str) -> list[tuple[int, int | str]]:
    """``devices[10].name`` -> [(1, 'devices'), (0, 10), (1, 'name')]: numbers as numbers."""
    return [
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"[.\[\]]+", place)
        if part
    ]


_TYPE_NAMES = {str: "text", list: "a list", dict: "a mapping", bool: "true or false"}


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        str: "text",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def check_type(p: Problems, place: str, value: Any, kind: type) -> bool:
    """Whether `value` is a `kind` (a bool never counts as a number); if not, says so in `p`."""
    if value is REFUSED:
        return False
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if not ok:
        hint = ""
        if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
            hint = f' (write it in quotes: "{value}")'
        p.add(place, f"must be {_TYPE_NAMES[kind]}, not {type_name(value)}{hint}")
    return ok


def check_keys(
    p: Problems,
    place: str,
    value: Mapping[object, object],
    required: tuple[str, ...],
    optional: tuple[str, ...],
) -> bool:
    ok = True
    for key in required:
        if key not in value:
            p.add(place, f"missing field '{key}'")
            ok = False
    for found in value:
        if found not in required and found not in optional:
            allowed = ", ".join(f"'{k}'" for k in required + optional)
            p.add(join_place(place, str(found)), f"unknown field (allowed here: {allowed})")
            ok = False
    return ok


def join_place(place: str, key: str) -> str:
    return f"{place}.{key}" if place else key


def check_text(p: Problems, place: str, value: Any, *, empty_ok: bool = False) -> str | None:
    if not check_type(p, place, value, str):
        return None
    text: str = value
    if not empty_ok and not text.strip():
        p.add(place, "must not be empty")
        return None
    return text


def check_name(p: Problems, place: str, value: Any) -> str | None:
    """An application or module name, or a module version: it becomes a folder on a device,
    so it follows the one naming rule (appupdater/names.py)."""
    text = check_text(p, place, value)
    if text is None:
        return None
    problem = name_problem(text)
    if problem is not None:
        p.add(place, problem)
        return None
    return text


def check_version_text(p: Problems, place: str, value: Any) -> str | None:
    """An application version: a name (see `check_name`) that is also a version."""
    text = check_text(p, place, value)
    if text is None:
        return None
    problem = version_problem(text)
    if problem is not None:
        p.add(place, problem)
        return None
    return text


@lru_cache(maxsize=65536)  # a fleet file names the same few versions on every device
def version_problem(text: str) -> str | None:
    """Why `text` cannot be an application version, or None when it can."""
    problem = name_problem(text)
    if problem is not None:
        return problem
    try:
        parse_version(text)
    except VersionError as exc:
        return str(exc)
    return None


SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
FINGERPRINT = re.compile(r"^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$")


def check_endpoint(value: object) -> str | None:
    """Why `value` is not an agent endpoint (`https://host:port`), or None when it is one.
    Never raises, whatever the text: the connection dialog calls it on every keystroke."""
    if not isinstance(value, str) or not value:
        return "must be text like https://10.0.3.7:8443"
    if not value.isprintable() or any(c.isspace() for c in value):
        return "must not contain spaces or control characters"
    if not value.lower().startswith(("http://", "https://")):
        return "must start with https:// (or http:// for agents on a trusted network)"
    if value.count("[") != value.count("]"):
        return f"has a '[' without its ']' ({_IPV6_HINT})"
    try:
        parsed = urlsplit(value)
        host = parsed.hostname
    except ValueError:  # "Invalid IPv6 URL" (an unclosed '['), characters NFKC turns into '/'
        return f"has a host that is not a valid name or address ({_IPV6_HINT})"
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        return "has a port that is not a number from 1 to 65535"
    if not host or port is None:
        return "must name a host and a port, like https://10.0.3.7:8443"
    if "[" in parsed.netloc:
        try:
            ipaddress.IPv6Address(host.partition("%")[0])
        except ValueError:
            return f"has a host in brackets that is not a valid IPv6 address ({_IPV6_HINT})"
    written = f"[{host}]:{port}" if "[" in parsed.netloc else f"{host}:{port}"
    if parsed.netloc.lower() != written or parsed.path not in ("", "/"):
        return "must be only scheme, host and port, like https://10.0.3.7:8443"
    if parsed.query or parsed.fragment or value.endswith(("?", "#")):
        return "must be only scheme, host and port, like https://10.0.3.7:8443"
    return None


_IPV6_HINT = "an IPv6 address goes in brackets: https://[fd00::7]:8443"


def normalise_fingerprint(value: str) -> str:
    return value.replace(":", "").lower()


def check_artifact(p: Problems, place: str, value: Any) -> tuple[str | None, str | None]:
    """A module's artifact ``{url, sha256}``, or (None, None) when absent or not right."""
    if value is None:
        return None, None
    if not check_type(p, place, value, dict) or not check_keys(
        p, place, value, ("url", "sha256"), ()
    ):
        return None, None
    url = check_text(p, f"{place}.url", value["url"])
    if url is not None and not url.startswith(("http://", "https://", "file://")):
        p.add(f"{place}.url", "must start with http://, https:// or file://")
        url = None
    sha256 = check_text(p, f"{place}.sha256", value["sha256"])
    if sha256 is not None and not SHA256.match(sha256):
        p.add(f"{place}.sha256", "must be 64 hexadecimal characters (a SHA-256)")
        sha256 = None
    return url, sha256.lower() if sha256 else None


def check_labels(p: Problems, place: str, value: Any) -> Labels:
    """A device's labels: names are text, values text, numbers or true/false."""
    if value is None:
        return {}
    if not check_type(p, place, value, dict):
        return {}
    labels = {}
    for key, label in value.items():
        if label is REFUSED:
            continue
        if not isinstance(key, str):
            p.add(place, f"label name {key!r} must be text")
        elif key in _SIM_NUMBERS and not _is_number(label):
            p.add(join_place(place, key), f"must be a number ({_SIM_NUMBERS[key]})")
        elif isinstance(label, str | int | float | bool):
            labels[key] = label
        else:
            p.add(
                join_place(place, key),
                f"must be text, a number or true/false, not {type_name(label)}",
            )
    return labels


# labels a simulated device reads as numbers (engine/gateways/simulated.py)
_SIM_NUMBERS = {
    "sim.latency_s": "the seconds a simulated deployment takes",
    "sim.failure_rate": "the chance, 0 to 1, that a simulated deployment fails",
}


def _is_number(value: Any) -> bool:
    """A finite number, or text that reads as one ("0.5"): what float() takes."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False
