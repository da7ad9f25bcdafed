"""What a run's configuration step adds to the devices' histories (see `runs.apply_configuration`).

Every device whose configured versions the step changed gets one new revision of its whole
configured map, written in the step's transaction with one bulk insert. A restoring run (a
rollback or a revert) first re-checks, in that transaction, that each device's newest revision is
still the one the run was planned from (any change since, to any application, makes a new
one; the same version set again too): a device changed since is skipped whole, and why is
written on its targets and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from appupdater.core.catalog import VersionInfo
from appupdater.core.words import plural
from appupdater.store.bulk import update_rows
from appupdater.store.config_revisions import configured_maps, record_revisions
from appupdater.store.models import Application, ConfigRevision, Device, Target
from appupdater.store.rows import sql_rows, tuples

log = logging.getLogger("appupdater.runs")

# (device, application, to version, action, scheduled at, wave, device_app id, configured
# version): a run's target as its configuration step reads it
TargetRow = tuple[int, int, int, str, datetime | None, int | None, int, int | None]


def moved_since_planned(run_id: int) -> dict[int, str]:
    """Devices of restoring run `run_id` whose newest configuration revision is no longer the
    one the run was planned from (its targets' `from_revision`), each with why it is skipped;
    the reason is written on its targets (`Target.skipped`) and logged. One query, which
    returns only those devices' targets."""
    newest = ConfigRevision.alias()
    query = (
        Target.select(Target.id, Target.device, Device.config_revision, newest.reason)
        .join(Device, on=(Device.id == Target.device))
        .join(
            newest,
            join_type="LEFT OUTER JOIN",
            on=(newest.device == Target.device) & (newest.number == Device.config_revision),
        )
        .where(
            (Target.run == run_id)
            & Target.from_revision.is_null(False)
            & (Target.from_revision != Device.config_revision)
        )
    )
    sql, params = query.sql()
    stale: dict[int, str] = {}
    marks = []
    for target_id, device_id, number, why in sql_rows(
        sql, params, tuple[int, int, int, str | None]
    ):
        reason = stale.get(device_id)
        if reason is None:
            reason = stale[device_id] = (
                f"changed since the rollback was planned (now revision {number}"
                f"{f': {why}' if why else ''})"
            )
            log.warning("run #%d: device #%d skipped: %s", run_id, device_id, reason)
        marks.append((reason, target_id))
    update_rows(Target, [Target.skipped], marks)
    return stale


def moved_past_targets(
    run_id: int, rows: list[TargetRow], versions: Mapping[int, VersionInfo]
) -> dict[int, str]:
    """Devices of ordinary run `run_id` whose configured version of one of its applications is
    now later than the run's target (changed while the run waited: for its approver, for an
    engine), each with why it is skipped; the reason is written on its targets and logged. The
    run would neither set it (never downgrade) nor may its deployment push what it never
    said. An import can move a whole fleet past a waiting request: the marks are one bulk
    update and the log one line."""
    moved: dict[int, tuple[VersionInfo, VersionInfo]] = {}
    for device_id, _, to_id, _, _, _, _, configured_id in rows:
        if configured_id is None or device_id in moved:
            continue
        current, target = versions.get(configured_id), versions[to_id]
        if current is not None and current.parsed.key > target.parsed.key:
            moved[device_id] = (current, target)
    if not moved:
        return {}
    apps = _app_names({target.app_id for _, target in moved.values()})
    stale = {
        device_id: (
            f"{apps[target.app_id]} is configured {current.text} since the run was planned "
            f"(later than its {target.text}): nothing of this run for the device; plan a new "
            "run to change it"
        )
        for device_id, (current, target) in moved.items()
    }
    update_rows(
        Target,
        [Target.skipped],
        ((why, run_id, device_id) for device_id, why in stale.items()),
        keys=[Target.run, Target.device],
    )
    first_id, first_why = next(iter(stale.items()))
    log.warning(
        "run #%d: %s skipped, configured later than the run's versions since it was planned "
        "(each target says why); the first, device #%d: %s",
        run_id,
        plural(len(stale), "device"),
        first_id,
        first_why,
    )
    return stale


def _app_names(app_ids: set[int]) -> dict[int, str]:
    query = Application.select(Application.id, Application.name).where(
        Application.id.in_(sorted(app_ids))
    )
    names = dict(tuples(query, tuple[int, str]))
    return {app_id: names.get(app_id, f"application #{app_id}") for app_id in app_ids}


def write_run_revisions(
    run_id: int, changed: Mapping[int, Mapping[int, int]], now: datetime, by: str, reason: str
) -> int:
    """One revision per device in `changed` (device id → the applications the step just set),
    holding its whole configured map as it is now (read after the update, in one query over the
    run's devices). Call it inside the step's transaction."""
    if not changed:
        return 0
    devices = Target.select(Target.device).distinct().where(Target.run == run_id)
    maps = configured_maps(devices)
    entries = {d: (maps[d].number, maps[d].configured) for d in changed}
    return record_revisions(entries, at=now, by=by, reason=reason, run_id=run_id)
