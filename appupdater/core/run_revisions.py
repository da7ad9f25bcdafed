"""What a run's configuration step adds to the devices' histories (see `runs.apply_configuration`).

Every device whose configured versions the step changed gets one new revision of its whole
configured map, written in the step's transaction with one bulk insert. A restoring run (a
rollback or a revert) first re-checks, in that transaction, that each device's configuration is
still what the run was planned from: a device changed since is skipped whole and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from appupdater.store.config_revisions import configured_maps, record_revisions
from appupdater.store.models import Target

log = logging.getLogger("appupdater.runs")

# (device, application, to version, action, scheduled at, wave, device_app id, configured
# version, the target's from version): a run's target as its configuration step reads it
TargetRow = tuple[int, int, int, str, datetime | None, int | None, int, int | None, int | None]


def moved_since_planned(rows: Iterable[TargetRow]) -> set[int]:
    """Devices of a restoring run whose configuration of one of its applications is no longer
    the one the run was planned from (the target's from version); each is logged."""
    stale: set[int] = set()
    for device_id, app_id, _to, _a, _s, _w, _da, configured_id, from_id in rows:
        if configured_id != from_id and device_id not in stale:
            stale.add(device_id)
            log.warning(
                "device #%d skipped: its configuration of application #%d changed after the "
                "rollback was planned (now version #%s)",
                device_id,
                app_id,
                configured_id,
            )
    return stale


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
