"""The catalog of applications, their versions and modules, read once from the store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from appupdater.core.versions import Version, parse_version
from appupdater.errors import PlanError
from appupdater.store.models import Application, AppVersion, Module
from appupdater.store.rows import tuples


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """One module of a version."""

    name: str
    version: str
    image: str
    artifact_url: str | None = None  # the .tar.gz a device agent downloads
    artifact_sha256: str | None = None


# the columns of a module, in ModuleInfo's order
MODULE_FIELDS = (
    Module.name,
    Module.version,
    Module.image,
    Module.artifact_url,
    Module.artifact_sha256,
)


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One application version with its modules, in their order."""

    id: int
    app_id: int
    text: str
    parsed: Version = field(repr=False)
    modules: tuple[ModuleInfo, ...] = field(repr=False)


@dataclass(frozen=True)
class AppInfo:
    """An application and its versions, ordered by precedence (earliest first)."""

    id: int
    name: str
    versions: tuple[VersionInfo, ...] = field(repr=False)

    @property
    def latest(self) -> VersionInfo | None:
        return self.versions[-1] if self.versions else None

    def find(self, text: str) -> VersionInfo | None:
        """The version written `text`, or else the one of equal precedence (`2.0` finds `2.0.0`)."""
        for info in self.versions:
            if info.text == text:
                return info
        wanted = parse_version(text)
        for info in self.versions:
            if info.parsed == wanted:
                return info
        return None


@dataclass
class Catalog:
    """Applications by name, and every loaded version by id."""

    apps: dict[str, AppInfo] = field(default_factory=dict)
    versions: dict[int, VersionInfo] = field(default_factory=dict)

    def app(self, name: str) -> AppInfo:
        try:
            return self.apps[name]
        except KeyError:
            known = ", ".join(sorted(self.apps)) or "none"
            raise PlanError(f"unknown application '{name}' (known: {known})") from None


def load_catalog(app_names: Iterable[str] | None = None) -> Catalog:
    """Read applications (all, or those named), their versions and modules, in three queries."""
    apps = Application.select(Application.id, Application.name)
    if app_names is not None:
        apps = apps.where(Application.name.in_(list(app_names)))
    app_rows = list(tuples(apps, tuple[int, str]))
    app_ids = [row[0] for row in app_rows]
    modules: dict[int, list[ModuleInfo]] = {}
    version_rows = list(
        tuples(
            AppVersion.select(AppVersion.id, AppVersion.application, AppVersion.version).where(
                AppVersion.application.in_(app_ids)
            ),
            tuple[int, int, str],
        )
    )
    module_query = (
        Module.select(Module.app_version, *MODULE_FIELDS)
        .join(AppVersion)
        .where(AppVersion.application.in_(app_ids))
        .order_by(Module.app_version, Module.position)
    )
    for version_id, name, version, image, url, sha256 in tuples(
        module_query, tuple[int, str, str, str, str | None, str | None]
    ):
        modules.setdefault(version_id, []).append(ModuleInfo(name, version, image, url, sha256))
    catalog = Catalog()
    by_app: dict[int, list[VersionInfo]] = {app_id: [] for app_id in app_ids}
    for version_id, app_id, text in version_rows:
        info = VersionInfo(
            version_id, app_id, text, parse_version(text), tuple(modules.get(version_id, ()))
        )
        by_app[app_id].append(info)
        catalog.versions[version_id] = info
    for app_id, name in app_rows:
        versions = tuple(sorted(by_app[app_id], key=lambda v: v.parsed.key))
        catalog.apps[name] = AppInfo(app_id, name, versions)
    return catalog


def load_versions(version_ids: Iterable[int]) -> dict[int, VersionInfo]:
    """The versions `version_ids` with their modules, by id, in two queries (for a few versions
    of any applications, where `load_catalog` would read whole applications)."""
    ids = list(set(version_ids))
    if not ids:
        return {}
    rows = tuples(
        AppVersion.select(AppVersion.id, AppVersion.application, AppVersion.version).where(
            AppVersion.id.in_(ids)
        ),
        tuple[int, int, str],
    )
    modules: dict[int, list[ModuleInfo]] = {}
    module_query = (
        Module.select(Module.app_version, *MODULE_FIELDS)
        .where(Module.app_version.in_(ids))
        .order_by(Module.app_version, Module.position)
    )
    for version_id, name, version, image, url, sha256 in tuples(
        module_query, tuple[int, str, str, str, str | None, str | None]
    ):
        modules.setdefault(version_id, []).append(ModuleInfo(name, version, image, url, sha256))
    return {
        version_id: VersionInfo(
            version_id, app_id, text, parse_version(text), tuple(modules.get(version_id, ()))
        )
        for version_id, app_id, text in rows
    }
