"""A device's configuration history, for the history dialog and `appupdater history`.

Each `Revision` is one numbered configuration of the device (see store/config_revisions.py):
who made it, when and why, the whole configured map by name, the change from the revision
before per application (with the module-level Added / Removed / Modified of the Finalize
page), and the deployments of the run that made it, with their states.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from appupdater.core.catalog import Catalog, VersionInfo, load_catalog
from appupdater.core.planning import ChangeOp, ModuleChange, module_changes
from appupdater.errors import AppUpdaterError
from appupdater.store.config_revisions import ConfigMap, decode
from appupdater.store.models import ConfigRevision, Deployment, DeploymentState, Device
from appupdater.store.rows import first, tuples


@dataclass(frozen=True, slots=True)
class AppChange:
    """One application whose configured version differs from the revision before: from
    (None: not configured before) and to (None: no longer configured), and its modules'
    changes (all Added when it was not configured before)."""

    application: str
    from_version: str | None
    to_version: str | None
    modules: tuple[ModuleChange, ...]


@dataclass(frozen=True, slots=True)
class RevisionDeployment:
    """A deployment that pushed a revision to the device (the deployment of the run that made
    it), with its outcome."""

    id: int
    run_id: int
    state: DeploymentState
    finished_at: datetime | None
    last_message: str


@dataclass(frozen=True)
class Revision:
    """One revision of a device's configuration; `configured` maps application name to version
    text; `changes` are those from the revision it replaced (for revision 1: everything it
    configures, as Added)."""

    number: int
    replaced: int | None
    at: datetime
    by: str
    reason: str
    run_id: int | None
    configured: dict[str, str]
    changes: tuple[AppChange, ...]
    deployments: tuple[RevisionDeployment, ...]


def device_history(device_id: int) -> list[Revision]:
    """The device's revisions, newest first. Raises `AppUpdaterError` for an unknown device."""
    if first(Device.select(Device.id).where(Device.id == device_id), tuple[int]) is None:
        raise AppUpdaterError(f"there is no device #{device_id}")
    query = (
        ConfigRevision.select(
            ConfigRevision.number,
            ConfigRevision.replaced,
            ConfigRevision.at,
            ConfigRevision.by,
            ConfigRevision.reason,
            ConfigRevision.run,
            ConfigRevision.configured,
        )
        .where(ConfigRevision.device == device_id)
        .order_by(ConfigRevision.number)
    )
    rows = list(
        tuples(query, tuple[int, int | None, datetime, str, str, int | None, dict[str, int]])
    )
    deployments: dict[int, list[RevisionDeployment]] = {}
    run_ids = [row[5] for row in rows if row[5] is not None]
    if run_ids:
        pushed = Deployment.select(
            Deployment.id,
            Deployment.run,
            Deployment.state,
            Deployment.finished_at,
            Deployment.last_message,
        ).where((Deployment.device == device_id) & Deployment.run.in_(run_ids))
        for d_id, by_run, state, finished, message in tuples(
            pushed.order_by(Deployment.id), tuple[int, int, str, datetime | None, str]
        ):
            deployments.setdefault(by_run, []).append(
                RevisionDeployment(d_id, by_run, DeploymentState(state), finished, message)
            )
    catalog = load_catalog()
    by_number: dict[int, ConfigMap] = {}
    history = []
    for number, replaced, at, by, reason, run_id, stored in rows:
        configured = by_number[number] = decode(stored)
        before = by_number.get(replaced, {}) if replaced is not None else {}
        history.append(
            Revision(
                number,
                replaced,
                at,
                by,
                reason,
                run_id,
                named(catalog, configured),
                map_changes(catalog, before, configured),
                tuple(deployments.get(run_id, ())) if run_id is not None else (),
            )
        )
    history.reverse()
    return history


def named(catalog: Catalog, configured: ConfigMap) -> dict[str, str]:
    """A configured map by application name and version text, sorted by name."""
    versions = catalog.versions
    shown = {}
    for version_id in configured.values():
        version = versions[version_id]
        shown[_app_name(catalog, version)] = version.text
    return dict(sorted(shown.items()))


def _app_name(catalog: Catalog, version: VersionInfo) -> str:
    for app in catalog.apps.values():
        if app.id == version.app_id:
            return app.name
    return f"application #{version.app_id}"


def map_changes(catalog: Catalog, before: ConfigMap, after: ConfigMap) -> tuple[AppChange, ...]:
    """Per application whose version differs from `before` to `after`, sorted by name."""
    versions = catalog.versions
    changes = []
    for app_id in before.keys() | after.keys():
        old_id, new_id = before.get(app_id), after.get(app_id)
        if old_id == new_id:
            continue
        old = versions[old_id] if old_id is not None else None
        new = versions[new_id] if new_id is not None else None
        some = new if new is not None else old
        assert some is not None
        changes.append(
            AppChange(
                _app_name(catalog, some),
                old.text if old else None,
                new.text if new else None,
                _modules(old, new),
            )
        )
    return tuple(sorted(changes, key=lambda c: c.application))


def _modules(old: VersionInfo | None, new: VersionInfo | None) -> tuple[ModuleChange, ...]:
    if old is not None and new is not None:
        return module_changes(old, new)
    if new is not None:
        return tuple(
            ModuleChange(m.name, ChangeOp.ADDED, None, m.version)
            for m in sorted(new.modules, key=lambda m: m.name)
        )
    assert old is not None
    return tuple(
        ModuleChange(m.name, ChangeOp.REMOVED, m.version, None)
        for m in sorted(old.modules, key=lambda m: m.name)
    )


def device_by_name(name: str) -> int:
    """The id of the device called `name`; raises `AppUpdaterError` naming it when unknown."""
    found = first(Device.select(Device.id).where(Device.name == name), tuple[int])
    if found is None:
        raise AppUpdaterError(f"there is no device called {name!r}")
    return found[0]
