"""Planning an update: which devices are affected, from which version, and what changes.

The rules are DESIGN.md's: a device is affected when its configured or installed version of the
application is earlier than the target, unless its configured version is later (never downgrade a
configuration: reported as skipped). The diff starts from the configured version when that is
earlier than the target, else from the installed one. Diffs are computed once per
(application, from, to) and shared by every device with that pair.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from appupdater.core.catalog import AppInfo, Catalog, VersionInfo, load_catalog
from appupdater.core.pending import PendingDeployment, pending_deployments
from appupdater.errors import PlanError
from appupdater.heap import gc_paused
from appupdater.store.models import Application, Device, DeviceApp
from appupdater.store.rows import sql_fetchall, tuples

if TYPE_CHECKING:
    from appupdater.core.along import AlongChange


class ChangeOp(enum.StrEnum):
    """How a module changes between two versions."""

    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"


@dataclass(frozen=True, slots=True)
class ModuleChange:
    """One module that differs between two versions of an application."""

    module: str
    op: ChangeOp
    from_version: str | None
    to_version: str | None


@dataclass(frozen=True)
class Selection:
    """An application to update, and the version to update to (None: the latest)."""

    application: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Selection:
        """``NAME`` or ``NAME=VERSION``, as the command line takes it."""
        name, equals, version = text.partition("=")
        if not name.strip():
            raise PlanError(f"'{text}' names no application (expected NAME or NAME=VERSION)")
        if equals and not version.strip():
            raise PlanError(
                f"'{text}' names no version after '=' (write {name.strip()} for the latest, "
                "or NAME=VERSION)"
            )
        return cls(name.strip(), version.strip() or None)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    name: str
    site: str
    online: bool


@dataclass(frozen=True, slots=True)
class PlanTarget:
    """An affected (device, application): where it is and where it goes."""

    device: DeviceInfo
    app: AppInfo
    configured: VersionInfo | None
    installed: VersionInfo | None
    from_version: VersionInfo
    to_version: VersionInfo

    @property
    def diff_key(self) -> tuple[int, int]:
        return (self.from_version.id, self.to_version.id)

    @property
    def device_from(self) -> VersionInfo:
        """What the device runs before a deployment: its installed version (the from version
        when it never reported one). A deployment takes it from here to the target."""
        return self.installed if self.installed is not None else self.from_version

    @property
    def device_key(self) -> tuple[int, int]:
        return (self.device_from.id, self.to_version.id)

    @property
    def device_differs(self) -> bool:
        """The device runs something else than the configuration change starts from (e.g.
        configured 4.0.0, running 3.6.0): a deployment does more than that change."""
        return self.device_from.id != self.from_version.id


@dataclass(frozen=True, slots=True)
class SkippedTarget:
    """A device that has the application but is not updated, and why."""

    device: DeviceInfo
    app: AppInfo
    configured: VersionInfo | None
    installed: VersionInfo | None
    reason: str


@dataclass
class Plan:
    """The outcome of planning: targets sorted by device then application, and shared diffs."""

    selections: list[tuple[AppInfo, VersionInfo]]
    targets: list[PlanTarget]
    skipped: list[SkippedTarget]
    diffs: dict[tuple[int, int], tuple[ModuleChange, ...]] = field(default_factory=dict)
    # each affected device's deployment of an earlier run that has not ended (see pending.py)
    pending: dict[int, PendingDeployment] = field(default_factory=dict)
    # devices that run another version than their configuration's change starts from, with
    # those targets (few, usually: what differs when a device is deployed)
    drifted: dict[int, list[PlanTarget]] = field(default_factory=dict)
    versions: Mapping[int, VersionInfo] = field(default_factory=dict)  # the catalog's, by id
    # a restoring plan (core/rollback.py): the run it rolls back (None for a revert or an
    # ordinary update), and the reason its revisions will give ("rollback of run #12", "revert
    # to revision 3"); None for an ordinary update. Its targets' versions may differ per device
    # and may be earlier than the from version; `selections` then holds each application once,
    # with the version most of its targets go to.
    rollback_of: int | None = None
    reason: str | None = None
    # a restoring plan's: each target device's configuration revision it was planned from
    revisions: dict[int, int] = field(default_factory=dict)
    # device id -> the other applications its deployment would also push, because their
    # configuration is not what the device runs (see core/along.py); devices with none absent
    along: dict[int, tuple[AlongChange, ...]] = field(default_factory=dict)

    def changes(self, target: PlanTarget) -> tuple[ModuleChange, ...]:
        """The configuration's change: from the from version to the target."""
        return self.diffs[target.diff_key]

    def device_changes(self, target: PlanTarget) -> tuple[ModuleChange, ...]:
        """What a deployment does to the device: from what it runs to the target."""
        key = target.device_key
        found = self.diffs.get(key)
        if found is None:
            found = self.diffs[key] = module_changes(target.device_from, target.to_version)
        return found

    def devices(self) -> list[DeviceInfo]:
        """Affected devices, each once, in target order."""
        seen: dict[int, DeviceInfo] = {}
        for target in self.targets:
            seen.setdefault(target.device.id, target.device)
        return list(seen.values())


def module_changes(before: VersionInfo, after: VersionInfo) -> tuple[ModuleChange, ...]:
    """Added, removed and modified modules from `before` to `after`, sorted by module name."""
    old = {m.name: m.version for m in before.modules}
    new = {m.name: m.version for m in after.modules}
    changes = []
    for name in sorted(old.keys() | new.keys()):
        if name not in old:
            changes.append(ModuleChange(name, ChangeOp.ADDED, None, new[name]))
        elif name not in new:
            changes.append(ModuleChange(name, ChangeOp.REMOVED, old[name], None))
        elif old[name] != new[name]:
            changes.append(ModuleChange(name, ChangeOp.MODIFIED, old[name], new[name]))
    return tuple(changes)


def resolve_selections(
    catalog: Catalog, selections: Sequence[Selection]
) -> list[tuple[AppInfo, VersionInfo]]:
    """Each selection's application and target version; errors name what is unknown."""
    if not selections:
        raise PlanError("no application selected")
    resolved = []
    seen = set()
    for selection in selections:
        app = catalog.app(selection.application)
        if app.id in seen:
            raise PlanError(f"application '{app.name}' is selected twice")
        seen.add(app.id)
        if selection.version is None:
            target = app.latest
            if target is None:
                raise PlanError(f"application '{app.name}' has no versions")
        else:
            target = app.find(selection.version)
            if target is None:
                known = ", ".join(v.text for v in app.versions) or "none"
                raise PlanError(
                    f"application '{app.name}' has no version '{selection.version}' "
                    f"(known: {known})"
                )
        resolved.append((app, target))
    return resolved


# (device id, name, site, online, application id, configured version id, installed version id);
# online is read raw: 0/1 from SQLite, a bool from PostgreSQL
StateRow = tuple[int, str, str, int, int, int | None, int | None]


def _earlier_and_later(app: AppInfo, to: VersionInfo) -> tuple[frozenset[int], frozenset[int]]:
    """Ids of the application's versions of lower, and of higher, precedence than `to`."""
    earlier = frozenset(v.id for v in app.versions if v.parsed < to.parsed)
    later = frozenset(v.id for v in app.versions if v.parsed > to.parsed)
    return earlier, later


def compute_plan(
    catalog: Catalog, selections: Sequence[Selection], rows: Iterable[StateRow]
) -> Plan:
    """The plan for `selections` over device states `rows` (in any order)."""
    with gc_paused():
        return _compute_plan(catalog, selections, rows)


def _compute_plan(
    catalog: Catalog, selections: Sequence[Selection], rows: Iterable[StateRow]
) -> Plan:
    resolved = resolve_selections(catalog, selections)
    by_app = {app.id: (app, to, *_earlier_and_later(app, to)) for app, to in resolved}
    versions = catalog.versions
    devices: dict[int, DeviceInfo] = {}
    targets: list[PlanTarget] = []
    skipped: list[SkippedTarget] = []
    diffs: dict[tuple[int, int], tuple[ModuleChange, ...]] = {}
    drifted: dict[int, list[PlanTarget]] = {}
    for device_id, name, site, online, app_id, configured_id, installed_id in rows:
        app, to, earlier, later = by_app[app_id]
        config_behind = configured_id in earlier
        if not (config_behind or installed_id in earlier):
            continue
        device = devices.get(device_id)
        if device is None:
            device = devices[device_id] = DeviceInfo(device_id, name, site, bool(online))
        configured = versions[configured_id] if configured_id is not None else None
        installed = versions[installed_id] if installed_id is not None else None
        if configured is not None and configured_id in later:
            skipped.append(
                SkippedTarget(
                    device,
                    app,
                    configured,
                    installed,
                    f"configured version {configured.text} is newer than the target {to.text}; "
                    "configurations are never downgraded",
                )
            )
            continue
        start = configured if config_behind else installed
        assert start is not None  # the one whose id is in `earlier`
        key = (start.id, to.id)
        if key not in diffs:
            diffs[key] = module_changes(start, to)
        target = PlanTarget(device, app, configured, installed, start, to)
        if installed is not None and installed.id != start.id:
            key = (installed.id, to.id)
            if key not in diffs:
                diffs[key] = module_changes(installed, to)
            drifted.setdefault(device_id, []).append(target)
        targets.append(target)
    app_order = {app.id: app.name for app, _ in resolved}
    targets.sort(key=lambda t: (t.device.name, app_order[t.app.id]))
    skipped.sort(key=lambda s: (s.device.name, app_order[s.app.id]))
    return Plan(resolved, targets, skipped, diffs, drifted=drifted, versions=versions)


def load_states(resolved: Sequence[tuple[AppInfo, VersionInfo]]) -> list[StateRow]:
    """The device states that can be affected: rows whose configured or installed version is
    earlier than the target. The version order is applied in Python (sets of version ids), the
    filtering in SQL, so up-to-date devices are never read. Raw rows: this is the hot path."""
    condition = None
    for app, to in resolved:
        earlier = list(_earlier_and_later(app, to)[0])
        clause = (DeviceApp.application == app.id) & (
            DeviceApp.configured.in_(earlier) | DeviceApp.installed.in_(earlier)
        )
        condition = clause if condition is None else condition | clause
    query = (
        DeviceApp.select(
            Device.id,
            Device.name,
            Device.site,
            Device.online,
            DeviceApp.application,
            DeviceApp.configured,
            DeviceApp.installed,
        )
        .join(Device)
        .where(condition)
    )
    sql, params = query.sql()
    return sql_fetchall(sql, params, tuple[int, str, str, int, int, int | None, int | None])


def plan_update(selections: Sequence[Selection], catalog: Catalog | None = None) -> Plan:
    """Plan `selections` against the bound database."""
    names = [s.application for s in selections]
    if catalog is None:
        catalog = load_catalog(names)
        missing = [name for name in names if name not in catalog.apps]
        if missing:
            known = ", ".join(application_names()) or "none; import a fleet file first"
            raise PlanError(f"unknown application '{missing[0]}' (known: {known})")
    with gc_paused():
        rows = load_states(resolve_selections(catalog, selections))
        plan = compute_plan(catalog, selections, rows)
        plan.pending = pending_deployments({t.device.id for t in plan.targets})
        from appupdater.core.along import attach_along  # along builds on this module

        return attach_along(plan)


def application_names() -> list[str]:
    query = Application.select(Application.name).order_by(Application.name)
    return [name for (name,) in tuples(query, tuple[str])]
