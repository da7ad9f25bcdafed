"""Planning a rollback of a run, or a revert of a device to one of its revisions.

Both give an ordinary `Plan` (targets per device and application, shared module diffs, pending
deployments, skipped devices with reasons), so the wizard's Deployment and Finalize pages and
`create_run` take it as any plan; it carries `reason` ("rollback of run #12", "revert to
revision 3") and, for a rollback, `rollback_of`. A run created from it is a *restoring* run:
its configuration step may set earlier versions (the one exception to "never downgrade"), but
only on devices still configured as planned (see `runs.apply_configuration`).

**Rollback of run N.** For each device whose configuration run N changed (it has a revision made by
run N) and whose newest revision is still that one, the plan restores the revision before it: a
target per application the run changed, from the run's version back to the one before (versions may
differ per device). Skipped, with the reason: devices configured otherwise since ("line-monitor
configured 4.1.0 since run #14"), devices the run did not change ("run #12 did not change its
configuration"; for a restoring run that skipped the device when applied, that and why: "run #12
skipped it when applied: changed since …"), and applications the device had no configured version of
before the run: the model has no "not configured" target, so a rollback never removes an
application's configuration (it says so; the device keeps the run's version). Rolling back a
rollback restores what the first run set.

**Revert of a device to revision K.** Targets for each application whose configured version in
revision K differs from the current one; an application revision K did not configure is
skipped, for the same reason.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping

from appupdater.core.along import attach_along
from appupdater.core.catalog import Catalog, load_catalog
from appupdater.core.pending import pending_deployments
from appupdater.core.planning import (
    DeviceInfo,
    ModuleChange,
    Plan,
    PlanTarget,
    SkippedTarget,
    module_changes,
)
from appupdater.errors import PlanError
from appupdater.heap import gc_paused
from appupdater.store.config_revisions import decode
from appupdater.store.models import ConfigRevision, Device, DeviceApp, Target, UpdateRun
from appupdater.store.rows import first, sql_rows, tuples

ConfigMap = dict[int, int]


class _Fleet:
    """The current state of some devices: info, newest revision number, configured and
    installed versions (by application id), read in one query."""

    def __init__(self, devices: object) -> None:
        query = (
            Device.select(
                Device.id,
                Device.name,
                Device.site,
                Device.online,
                Device.config_revision,
                DeviceApp.application,
                DeviceApp.configured,
                DeviceApp.installed,
            )
            .join(DeviceApp, on=(DeviceApp.device == Device.id))
            .where(Device.id.in_(devices))
        )
        sql, params = query.sql()
        self.info: dict[int, DeviceInfo] = {}
        self.number: dict[int, int] = {}
        self.configured: dict[int, ConfigMap] = {}
        self.installed: dict[int, ConfigMap] = {}
        rows = sql_rows(sql, params, tuple[int, str, str, int, int, int, int | None, int | None])
        for device_id, name, site, online, number, app_id, configured, installed in rows:
            if device_id not in self.info:
                self.info[device_id] = DeviceInfo(device_id, name, site, bool(online))
                self.number[device_id] = number
                self.configured[device_id] = {}
                self.installed[device_id] = {}
            if configured is not None:
                self.configured[device_id][app_id] = configured
            if installed is not None:
                self.installed[device_id][app_id] = installed


class _Builder:
    """Collects targets and skipped devices, and makes the plan."""

    def __init__(self, catalog: Catalog, fleet: _Fleet) -> None:
        self.catalog = catalog
        self.apps = {app.id: app for app in catalog.apps.values()}
        self.fleet = fleet
        self.targets: list[PlanTarget] = []
        self.skipped: list[SkippedTarget] = []

    def skip(self, device_id: int, app_id: int, reason: str) -> None:
        versions = self.catalog.versions
        configured = self.fleet.configured[device_id].get(app_id)
        installed = self.fleet.installed[device_id].get(app_id)
        self.skipped.append(
            SkippedTarget(
                self.fleet.info[device_id],
                self.apps[app_id],
                versions[configured] if configured is not None else None,
                versions[installed] if installed is not None else None,
                reason,
            )
        )

    def restore(self, device_id: int, goal: Mapping[int, int], missing: str) -> None:
        """Targets taking the device's current configuration to `goal` (application →
        version), for each application where they differ; `missing` is the reason for an
        application that `goal` does not configure."""
        versions = self.catalog.versions
        current = self.fleet.configured[device_id]
        installed = self.fleet.installed[device_id]
        for app_id in sorted(current.keys() | goal.keys()):
            now, wanted = current.get(app_id), goal.get(app_id)
            if now == wanted:
                continue
            if wanted is None or now is None:
                self.skip(device_id, app_id, missing.format(app=self.apps[app_id].name))
                continue
            held = installed.get(app_id)
            self.targets.append(
                PlanTarget(
                    self.fleet.info[device_id],
                    self.apps[app_id],
                    versions[now],
                    versions[held] if held is not None else None,
                    versions[now],
                    versions[wanted],
                )
            )

    def plan(self, reason: str, rollback_of: int | None) -> Plan:
        diffs: dict[tuple[int, int], tuple[ModuleChange, ...]] = {}
        drifted: dict[int, list[PlanTarget]] = {}
        for target in self.targets:
            for key, before in (
                (target.diff_key, target.from_version),
                (target.device_key, target.device_from),
            ):
                if key not in diffs:
                    diffs[key] = module_changes(before, target.to_version)
            if target.device_differs:
                drifted.setdefault(target.device.id, []).append(target)
        goals: dict[int, Counter[int]] = {}
        for target in self.targets:
            goals.setdefault(target.app.id, Counter())[target.to_version.id] += 1
        selections = [
            (self.apps[app_id], self.catalog.versions[counts.most_common(1)[0][0]])
            for app_id, counts in sorted(goals.items(), key=lambda kv: self.apps[kv[0]].name)
        ]
        self.targets.sort(key=lambda t: (t.device.name, t.app.name))
        self.skipped.sort(key=lambda s: (s.device.name, s.app.name))
        return attach_along(
            Plan(
                selections,
                self.targets,
                self.skipped,
                diffs,
                pending=pending_deployments({t.device.id for t in self.targets}),
                drifted=drifted,
                versions=self.catalog.versions,
                rollback_of=rollback_of,
                reason=reason,
                revisions={t.device.id: self.fleet.number[t.device.id] for t in self.targets},
            )
        )


def _map(cache: dict[str, ConfigMap], text: str) -> ConfigMap:
    """A stored map read raw (JSON text), decoded once per distinct text."""
    found = cache.get(text)
    if found is None:
        found = cache[text] = decode(json.loads(text))
    return found


def plan_rollback(run_id: int, device_ids: Iterable[int] | None = None) -> Plan:
    """The plan that restores, on each device run `run_id` changed (or only `device_ids` of
    them), the configuration revision before the run; see the module docstring. Raises
    `PlanError` for an unknown run or one whose configuration was not applied yet."""
    run = first(
        UpdateRun.select(UpdateRun.id, UpdateRun.configured_at).where(UpdateRun.id == run_id),
        tuple[int, object],
    )
    if run is None:
        raise PlanError(f"there is no update run {run_id}")
    if run[1] is None:
        raise PlanError(
            f"run #{run_id} has not changed any configuration yet: there is nothing to roll back"
        )
    with gc_paused():
        devices = Target.select(Target.device).distinct().where(Target.run == run_id)
        if device_ids is not None:
            devices = devices.where(Target.device.in_(list(device_ids)))
        fleet = _Fleet(devices)
        builder = _Builder(load_catalog(), fleet)
        made, before = _revisions_of(run_id, devices)
        since = _newest_reasons(devices, run_id)
        apps_of_run: dict[int, list[int]] = {}
        skipped_by_run: dict[int, str] = {}
        targets = Target.select(Target.device, Target.application, Target.skipped).where(
            Target.run == run_id
        )
        for device_id, app_id, why in tuples(targets, tuple[int, int, str | None]):
            apps_of_run.setdefault(device_id, []).append(app_id)
            if why is not None:
                skipped_by_run[device_id] = why
        name = f"run #{run_id}"
        missing = (
            f"{{app}} had no configured version before {name}; a rollback does not remove an "
            "application's configuration"
        )
        for device_id in sorted(fleet.info, key=lambda d: fleet.info[d].name):
            revision = made.get(device_id)
            if revision is None:
                why = skipped_by_run.get(device_id)
                unchanged = (
                    f"{name} did not change its configuration"
                    if why is None
                    else f"{name} skipped it when applied: {why}"
                )
                for app_id in apps_of_run.get(device_id, []):
                    builder.skip(device_id, app_id, unchanged)
                continue
            number, set_by_run = revision
            if number != fleet.number[device_id]:
                _skip_changed(builder, device_id, set_by_run, since.get(device_id, "later"))
                continue
            previous = before.get(device_id)
            if previous is None:
                for app_id in set_by_run:
                    builder.skip(device_id, app_id, f"no configuration revision before {name}")
                continue
            builder.restore(device_id, previous, missing)
        return builder.plan(f"rollback of {name}", run_id)


def _revisions_of(
    run_id: int, devices: object
) -> tuple[dict[int, tuple[int, ConfigMap]], dict[int, ConfigMap]]:
    """The revisions run `run_id` made (device → (number, map)), and each one's predecessor's
    map (device → map), in one query."""
    earlier = ConfigRevision.alias()
    query = (
        ConfigRevision.select(
            ConfigRevision.device,
            ConfigRevision.number,
            ConfigRevision.configured,
            earlier.configured,
        )
        .join(
            earlier,
            join_type="LEFT OUTER JOIN",
            on=(earlier.device == ConfigRevision.device)
            & (earlier.number == ConfigRevision.replaced),
        )
        .where((ConfigRevision.run == run_id) & ConfigRevision.device.in_(devices))
    )
    sql, params = query.sql()
    cache: dict[str, ConfigMap] = {}
    made: dict[int, tuple[int, ConfigMap]] = {}
    before: dict[int, ConfigMap] = {}
    for device_id, number, text, earlier_text in sql_rows(
        sql, params, tuple[int, int, str, str | None]
    ):
        made[device_id] = (number, _map(cache, text))
        if earlier_text is not None:
            before[device_id] = _map(cache, earlier_text)
    return made, before


def _newest_reasons(devices: object, run_id: int) -> dict[int, str]:
    """Why each of `devices` was last changed, for those whose newest revision another change
    than run `run_id` made ("run #14", "import of fleet.yaml")."""
    query = (
        ConfigRevision.select(ConfigRevision.device, ConfigRevision.reason)
        .join(
            Device,
            on=(Device.id == ConfigRevision.device)
            & (Device.config_revision == ConfigRevision.number),
        )
        .where(
            ConfigRevision.device.in_(devices)
            & (ConfigRevision.run.is_null() | (ConfigRevision.run != run_id))
        )
    )
    return dict(tuples(query, tuple[int, str]))


def _skip_changed(builder: _Builder, device_id: int, set_by_run: ConfigMap, since: str) -> None:
    """Skip a device configured otherwise since the run, naming what changed and by what."""
    versions = builder.catalog.versions
    current = builder.fleet.configured[device_id]
    changed = sorted(
        a for a in current.keys() | set_by_run.keys() if current.get(a) != set_by_run.get(a)
    )
    for app_id in changed or sorted(set_by_run):
        now = current.get(app_id)
        shown = versions[now].text if now is not None else "nothing"
        reason = (
            f"configured {shown} since {since}"
            if changed
            else f"configuration changed since {since}"
        )
        builder.skip(device_id, app_id, reason)


def plan_revert(device_id: int, number: int) -> Plan:
    """The plan that sets device `device_id`'s configuration back (or forward) to its revision
    `number`; see the module docstring. Raises `PlanError` for an unknown device or revision,
    or when that revision is the current one."""
    row = first(
        ConfigRevision.select(ConfigRevision.configured).where(
            (ConfigRevision.device == device_id) & (ConfigRevision.number == number)
        ),
        tuple[dict[str, int]],
    )
    name = first(Device.select(Device.name).where(Device.id == device_id), tuple[str])
    if name is None:
        raise PlanError(f"there is no device #{device_id}")
    if row is None:
        raise PlanError(f"{name[0]} has no configuration revision {number}")
    with gc_paused():
        fleet = _Fleet([device_id])
        if device_id not in fleet.info:  # a device without applications: nothing to restore
            raise PlanError(f"{name[0]} has no applications: there is nothing to revert")
        if fleet.number[device_id] == number:
            raise PlanError(
                f"revision {number} is the current configuration of {name[0]}: nothing to revert"
            )
        builder = _Builder(load_catalog(), fleet)
        builder.restore(
            device_id,
            decode(row[0]),
            f"revision {number} configured no version of {{app}}; a revert does not remove an "
            "application's configuration",
        )
        return builder.plan(f"revert to revision {number}", None)
