"""The deployment request an agent accepts, checked field by field into plain dataclasses.

Every problem raises `BadRequest` with the place and what is wrong, so the workstation gets a
4xx that names it ("applications[0].modules[1].sha256: must be 64 hexadecimal characters").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")  # also safe as a folder name
DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
URL_SCHEMES = ("http://", "https://", "file://")
MAX_MODULES = 1000


class BadRequest(ValueError):
    """A request the agent refuses (HTTP 400); the text names the place and the problem."""


@dataclass(frozen=True)
class ModuleRef:
    name: str
    version: str
    url: str
    sha256: str
    application: str


@dataclass(frozen=True)
class AppRef:
    name: str
    version: str


@dataclass(frozen=True)
class Configuration:
    """A device's whole configuration: every application and module it should run."""

    applications: tuple[AppRef, ...]
    modules: tuple[ModuleRef, ...]

    def to_json(self) -> dict[str, Any]:
        by_app: dict[str, list] = {}
        for m in self.modules:
            by_app.setdefault(m.application, []).append(
                {"name": m.name, "version": m.version, "url": m.url, "sha256": m.sha256}
            )
        return {
            "applications": [
                {"name": a.name, "version": a.version, "modules": by_app.get(a.name, [])}
                for a in self.applications
            ]
        }

    def installed(self) -> dict[str, Any]:
        """What the device runs once this configuration is active."""
        return {
            a.name: {
                "version": a.version,
                "modules": {m.name: m.version for m in self.modules if m.application == a.name},
            }
            for a in self.applications
        }


def _text(value: Any, place: str, pattern: re.Pattern | None = None, what: str = "") -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{place}: must be non-empty text")
    if pattern is not None and not pattern.match(value):
        raise BadRequest(f"{place}: {what}")
    return value


def _mapping(value: Any, place: str, required: tuple[str, ...], optional=()) -> dict:
    if not isinstance(value, dict):
        raise BadRequest(f"{place or 'the body'}: must be a JSON object")
    for key in required:
        if key not in value:
            raise BadRequest(f"{place or 'the body'}: missing field '{key}'")
    for key in value:
        if key not in required and key not in optional:
            raise BadRequest(f"{place + '.' if place else ''}{key}: unknown field")
    return value


def check_deployment_id(value: str) -> str:
    return _text(
        value, "deployment id", DEPLOYMENT_ID, "letters, digits, '.', '_' or '-' (at most 64)"
    )


def parse_configuration(body: Any) -> Configuration:
    """The body of ``PUT /v1/deployments/{id}``."""
    data = _mapping(body, "", ("applications",))
    apps_value = data["applications"]
    if not isinstance(apps_value, list):
        raise BadRequest("applications: must be a list")
    apps: list[AppRef] = []
    modules: list[ModuleRef] = []
    seen_modules: dict[str, str] = {}
    for i, item in enumerate(apps_value):
        place = f"applications[{i}]"
        item = _mapping(item, place, ("name", "version", "modules"))
        name = _text(item["name"], f"{place}.name", NAME, "letters, digits, '.', '_', '+', '-'")
        if any(a.name == name for a in apps):
            raise BadRequest(f"{place}.name: application '{name}' is listed twice")
        version = _text(item["version"], f"{place}.version", NAME, "not a version text")
        apps.append(AppRef(name, version))
        if not isinstance(item["modules"], list):
            raise BadRequest(f"{place}.modules: must be a list")
        for j, module in enumerate(item["modules"]):
            mplace = f"{place}.modules[{j}]"
            module = _mapping(module, mplace, ("name", "version", "url", "sha256"))
            mname = _text(module["name"], f"{mplace}.name", NAME, "letters, digits, '.', '_', '-'")
            if mname in seen_modules:
                raise BadRequest(
                    f"{mplace}.name: module '{mname}' is also part of '{seen_modules[mname]}'"
                )
            seen_modules[mname] = name
            mversion = _text(module["version"], f"{mplace}.version", NAME, "not a version text")
            url = _text(module["url"], f"{mplace}.url")
            if not url.startswith(URL_SCHEMES):
                raise BadRequest(f"{mplace}.url: must start with http://, https:// or file://")
            sha = _text(
                module["sha256"], f"{mplace}.sha256", SHA256, "must be 64 hexadecimal characters"
            )
            modules.append(ModuleRef(mname, mversion, url, sha, name))
    if len(modules) > MAX_MODULES:
        raise BadRequest(f"applications: more than {MAX_MODULES} modules")
    return Configuration(tuple(apps), tuple(modules))
