"""Requests to the agent, checked field by field into the protocol's dataclasses.

Every problem raises `BadRequest` with the place and what is wrong, so the workstation gets a
4xx that names it ("applications[0].modules[1].sha256: must be 64 hexadecimal characters").
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from appupdater.agent.protocol import (
    API_PREFIX,
    CANCEL,
    DEPLOYMENTS,
    LOG_AFTER,
    STATUS,
    WAIT,
    AppRef,
    Configuration,
    Endpoint,
    ModuleRef,
)
from appupdater.names import name_problem

DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
DECIMAL = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?", re.ASCII)
URL_SCHEMES = ("http", "https", "file")  # file:// is read only from the agent's artifact folder
MAX_MODULES = 1000


class BadRequest(ValueError):
    """A request the agent refuses with `status` (400 unless said); the text names the place
    and the problem."""

    def __init__(self, text: str, status: int = 400):
        super().__init__(text)
        self.status = status


class NotAllowed(BadRequest):
    """A method the path does not take (405); `allowed` are those it does."""

    def __init__(self, method: str, allowed: tuple[str, ...]):
        super().__init__(f"{method} is not allowed here (allowed: {', '.join(allowed)})", 405)
        self.allowed = allowed


@dataclass(frozen=True)
class Route:
    """Which endpoint a request path names, and the deployment for those under `deployments`."""

    endpoint: Endpoint
    deployment_id: str = ""

    def check_method(self, method: str) -> None:
        if method not in self.endpoint.methods:
            raise NotAllowed(method, self.endpoint.methods)


@dataclass(frozen=True)
class PollQuery:
    """The query of a deployment's long poll."""

    log_after: int
    wait: float


def parse_route(path: str) -> Route:
    """The route of a request path (without its query); unknown paths are a 404."""
    parts = [p for p in path.split("/") if p]
    if not parts or f"/{parts[0]}" != API_PREFIX:
        raise BadRequest(f"unknown path {path} (the API is under {API_PREFIX}/)", 404)
    parts = parts[1:]
    if parts == [STATUS]:
        return Route(Endpoint.STATUS)
    if len(parts) >= 2 and parts[0] == DEPLOYMENTS:
        deployment_id = check_deployment_id(parts[1])
        if len(parts) == 2:
            return Route(Endpoint.DEPLOYMENT, deployment_id)
        if parts[2:] == [CANCEL]:
            return Route(Endpoint.CANCEL, deployment_id)
    raise BadRequest(f"unknown path {path}", 404)


def split_target(target: str) -> tuple[str, str]:
    """The path and query of a request target: a path (`/v1/status?x=1`) or an absolute URL
    (`https://press-07:8443/v1/status`, which HTTP/1.1 servers must take: RFC 9112 3.2.2).
    Anything else, or a URL that does not parse, is a 400 naming it."""
    target = target.partition("#")[0]
    if target.startswith("/"):
        path, _, query = target.partition("?")
        return path, query
    shown = repr(target[:100]) + ("…" if len(target) > 100 else "")
    if "://" not in target:
        raise BadRequest(f"the request target {shown} is neither a path nor an http(s) URL")
    try:
        url = urlsplit(target)
        url.port  # noqa: B018 - parsing the port is what checks it
    except ValueError as exc:
        raise BadRequest(f"the request target {shown} is not a URL ({exc})") from None
    if url.scheme.lower() not in ("http", "https") or not url.netloc:
        raise BadRequest(f"the request target {shown} is not an http(s) URL")
    return url.path or "/", url.query


def content_length(values: list[str] | None, limit: int) -> int | None:
    """The body's length from the request's Content-Length headers (None without one): ASCII
    digits only (`isdigit()` also takes '²', which `int()` refuses), the same in each header,
    at most `limit` (else 413)."""
    if not values:
        return None
    texts = {value.strip() for value in values}
    text = texts.pop()
    if texts:
        raise BadRequest("Content-Length is given twice with different values")
    if not (text.isascii() and text.isdigit()):
        raise BadRequest(f"Content-Length must be a number of bytes, not {text!r}")
    if len(text) > len(str(limit)) or int(text) > limit:
        raise BadRequest(f"the body is larger than {limit} bytes", 413)
    return int(text)


def json_body(raw: bytes) -> Any:
    """A request body as JSON; what is not JSON, or is nested too deeply to read, is a 400."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise BadRequest("the body is nested too deeply to be read as JSON") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc


def parse_poll_query(query: str) -> PollQuery:
    values = parse_qs(query)
    return PollQuery(int(_number(values, LOG_AFTER, int)), _number(values, WAIT, float))


def _number(values: dict[str, list[str]], name: str, kind: type[int] | type[float]) -> float:
    """The query parameter `name` as `kind`; 0 when it is not given. ASCII digits only (`int`
    also takes '١٢' and '1_000'), finite, at most 20 characters."""
    if not values.get(name):
        return kind(0)
    text = values[name][0].strip()
    allowed = NUMBER if kind is int else DECIMAL
    if len(text) > 20 or not allowed.fullmatch(text):
        raise BadRequest(f"query parameter {name} must be a number, not {text[:20]!r}")
    value = kind(text)
    if not math.isfinite(value):
        raise BadRequest(f"query parameter {name} must be a finite number")
    if value < 0:
        raise BadRequest(f"query parameter {name} must not be negative")
    return value


def _text(value: Any, place: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{place}: must be non-empty text")
    if pattern is not None and not pattern.match(value):
        raise BadRequest(f"{place}: {what}")
    return value


def _mapping(value: Any, place: str, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{place or 'the body'}: must be a JSON object")
    for key in required:
        if key not in value:
            raise BadRequest(f"{place or 'the body'}: missing field '{key}'")
    for key in value:
        if key not in required:
            raise BadRequest(f"{place + '.' if place else ''}{key}: unknown field")
    return value


def check_deployment_id(value: str) -> str:
    return _text(
        value, "deployment id", DEPLOYMENT_ID, "letters, digits, '.', '_' or '-' (at most 64)"
    )


def _name(value: Any, place: str, stored: bool) -> str:
    """A name or version that becomes a folder on the device: the one rule (names.py). A
    `stored` record, written by an earlier agent with a looser rule, is taken as it is: the
    folders are checked again before anything is made for it (activation.Modules)."""
    if stored:
        return _text(value, place)
    problem = name_problem(value)
    if problem is not None:
        raise BadRequest(f"{place}: {problem}")
    return str(value)


def _url(value: Any, place: str) -> str:
    """An artifact URL the download can take: http(s) with a host, or file:// on this device
    (read only from the folder the agent was started with; files.download checks that)."""
    url = _text(value, place)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise BadRequest(f"{place}: must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BadRequest(f"{place}: not a URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES or not url[len(scheme) :].startswith("://"):
        raise BadRequest(f"{place}: must be an http://, https:// or file:// URL")
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise BadRequest(
                f"{place}: a file:// URL names a file on this device, not on {parts.netloc}"
            )
        if not parts.path.strip("/"):
            raise BadRequest(f"{place}: names no file")
    elif not parts.hostname:
        raise BadRequest(f"{place}: names no host")
    return url


def parse_configuration(body: Any, *, stored: bool = False) -> Configuration:
    """The body of a deployment's PUT; `stored`: a configuration read back from state.json."""
    data = _mapping(body, "", ("applications",))
    apps_value = data["applications"]
    if not isinstance(apps_value, list):
        raise BadRequest("applications: must be a list")
    apps: list[AppRef] = []
    seen_modules: dict[str, str] = {}
    for i, item in enumerate(apps_value):
        place = f"applications[{i}]"
        item = _mapping(item, place, ("name", "version", "modules"))
        name = _name(item["name"], f"{place}.name", stored)
        if any(a.name == name for a in apps):
            raise BadRequest(f"{place}.name: application '{name}' is listed twice")
        version = _name(item["version"], f"{place}.version", stored)
        if not isinstance(item["modules"], list):
            raise BadRequest(f"{place}.modules: must be a list")
        modules: list[ModuleRef] = []
        for j, module in enumerate(item["modules"]):
            mplace = f"{place}.modules[{j}]"
            module = _mapping(module, mplace, ("name", "version", "url", "sha256"))
            mname = _name(module["name"], f"{mplace}.name", stored)
            if mname in seen_modules:
                raise BadRequest(
                    f"{mplace}.name: module '{mname}' is also part of '{seen_modules[mname]}'"
                )
            seen_modules[mname] = name
            mversion = _name(module["version"], f"{mplace}.version", stored)
            url = (
                _text(module["url"], f"{mplace}.url")
                if stored
                else _url(module["url"], f"{mplace}.url")
            )
            sha = _text(
                module["sha256"], f"{mplace}.sha256", SHA256, "must be 64 hexadecimal characters"
            )
            modules.append(ModuleRef(mname, mversion, url, sha))
        apps.append(AppRef(name, version, tuple(modules)))
    if len(seen_modules) > MAX_MODULES:
        raise BadRequest(f"applications: more than {MAX_MODULES} modules")
    return Configuration(tuple(apps))
