"""What a deployment pushes besides its run's own changes.

DESIGN.md: a deployment pushes the device's *whole* configuration. So an application outside
the run whose configured version is not what the device runs goes to the device with the
run's deployment: a configuration set earlier without a deployment (a run's "Do not deploy",
an import, a revert not deployed yet), or a device that fell back on its own. Finalize, `plan`
and the overview show these changes beside the run's own, so that what is approved is what
the device undergoes — also for a second approver, who never saw the earlier change.

Only configured applications go (a deployment never removes an application that is not
configured). A device that never reported a version of the application gets the configured
version's modules, shown as added.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from appupdater.core.catalog import VersionInfo, load_versions
from appupdater.core.planning import ChangeOp, ModuleChange, Plan, module_changes
from appupdater.store.models import Application, DeviceApp
from appupdater.store.rows import sql_fetchall

ALONG_NOTE = (
    "Also pushed: configured earlier, not on the device yet (a deployment pushes the device's "
    "whole configuration)."
)

# above this many devices, read every differing row and keep the devices' in Python: one scan
# instead of a long IN list
_IN_LIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AlongChange:
    """One application a device's deployment also pushes: from what the device runs (None: it
    never reported one) to its configured version."""

    device_id: int
    application: str
    application_id: int
    installed: VersionInfo | None
    configured: VersionInfo
    changes: tuple[ModuleChange, ...]

    @property
    def from_text(self) -> str:
        return self.installed.text if self.installed is not None else "—"


def all_added(version: VersionInfo) -> tuple[ModuleChange, ...]:
    """Every module of `version`, as added (from a device that reported nothing)."""
    return tuple(
        ModuleChange(m.name, ChangeOp.ADDED, None, m.version)
        for m in sorted(version.modules, key=lambda m: m.name)
    )


Diffs = dict[tuple[int | None, int], tuple[ModuleChange, ...]]


def changes_from(
    start: VersionInfo | None, end: VersionInfo, diffs: Diffs
) -> tuple[ModuleChange, ...]:
    """What a device goes through from `start` (None: it reported nothing) to `end`, computed
    once per pair in `diffs`."""
    key = (start.id if start is not None else None, end.id)
    found = diffs.get(key)
    if found is None:
        found = diffs[key] = module_changes(start, end) if start is not None else all_added(end)
    return found


def load_along(
    device_ids: Collection[int], own: Iterable[tuple[int, int]] = ()
) -> dict[int, tuple[AlongChange, ...]]:
    """device id -> the applications its deployment would also push, by name; `own` are the
    (device id, application id) pairs the run itself changes (left out). Devices with none
    are not keys."""
    if not device_ids:
        return {}
    mine = set(own)
    differs = DeviceApp.configured.is_null(False) & (
        DeviceApp.installed.is_null() | (DeviceApp.installed != DeviceApp.configured)
    )
    if len(device_ids) <= _IN_LIST_LIMIT:
        differs &= DeviceApp.device.in_(list(device_ids))
    query = (
        DeviceApp.select(
            DeviceApp.device,
            DeviceApp.application,
            Application.name,
            DeviceApp.configured,
            DeviceApp.installed,
        )
        .join(Application)
        .where(differs)
    )
    wanted = device_ids if isinstance(device_ids, set | frozenset | dict) else set(device_ids)
    sql, params = query.sql()  # raw rows: thousands can differ in a big fleet
    rows = [
        row
        for row in sql_fetchall(sql, params, tuple[int, int, str, int, int | None])
        if row[0] in wanted and (row[0], row[1]) not in mine
    ]
    if not rows:
        return {}
    versions = load_versions({v for row in rows for v in (row[3], row[4]) if v is not None})
    diffs: Diffs = {}
    found: dict[int, list[AlongChange]] = {}
    for device_id, app_id, name, configured_id, installed_id in rows:
        configured = versions[configured_id]
        installed = versions[installed_id] if installed_id is not None else None
        changes = changes_from(installed, configured, diffs)
        found.setdefault(device_id, []).append(
            AlongChange(device_id, name, app_id, installed, configured, changes)
        )
    return {
        device: tuple(sorted(changes, key=lambda c: c.application))
        for device, changes in found.items()
    }


def attach_along(plan: Plan) -> Plan:
    """`plan` with what each of its devices' deployments would also push (`plan.along`)."""
    device_ids = {t.device.id for t in plan.targets}
    plan.along = load_along(device_ids, ((t.device.id, t.app.id) for t in plan.targets))
    return plan
