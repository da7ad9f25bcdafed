"""What a deployment does to its device, per application: from the version the device runs
(or ran, once the deployment ended) to the target, as the overview's changes pane shows it.

The configuration's change of a target starts where the configuration was; the device can run
an earlier version (configured 4.0.0, running 3.6.0), and a deployment takes it from there.

A deployment pushes the device's whole configuration: while it waits, the other applications
whose configuration is not what the device runs follow the run's own, marked (core/along.py;
for a run approved by a second person, only what an approval covered: core/approved_config.py).
A running attempt pushes what it loaded when it started, which its event log names ("also
pushes …"): what was configured since is not shown as going with it. Once it ended, what it
pushed of those is in its event log (the device's words), not here: the device runs them now.
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee

from appupdater.core.along import ALONG_NOTE, load_along
from appupdater.core.approved_config import approved_configurations
from appupdater.core.catalog import load_catalog
from appupdater.core.planning import ModuleChange, module_changes
from appupdater.store.models import (
    OPEN_STATES,
    WAITING_STATES,
    Application,
    Deployment,
    DeviceApp,
    Target,
)
from appupdater.store.rows import one, tuples


def target_device_app() -> peewee.Expression:
    """The join of a target to its device's row of that application (what the device runs)."""
    return (DeviceApp.device == Target.device) & (DeviceApp.application == Target.application)


@dataclass(frozen=True)
class CarriedChange:
    """One application a deployment carries."""

    application: str
    start: str  # the version the device runs before the deployment ("—": none known)
    end: str
    changes: tuple[ModuleChange, ...]
    note: str = ""  # where the configuration was, when the device ran something else


def carried_changes(deployment_id: int) -> list[CarriedChange]:
    """Each application the deployment carries, by name. While it has not ended, from what
    the device reports it runs now; after, from what it ran when the run was approved."""
    query = Deployment.select(Deployment.run, Deployment.device, Deployment.state).where(
        Deployment.id == deployment_id
    )
    run_id, device_id, state = one(query, tuple[int, int, str])
    still_open = state in OPEN_STATES
    versions = load_catalog().versions
    targets = (
        Target.select(
            Application.id,
            Application.name,
            Target.from_version,
            Target.to_version,
            Target.installed_version,
            DeviceApp.installed,
        )
        .join(Application)
        .switch(Target)
        .join(
            DeviceApp,
            peewee.JOIN.LEFT_OUTER,
            on=target_device_app(),
        )
        .where((Target.run == run_id) & (Target.device == device_id))
        .order_by(Application.name)
    )
    rows = list(tuples(targets, tuple[int, str, int | None, int, int | None, int | None]))
    result = []
    for _, app, from_id, to_id, ran_id, runs_id in rows:
        installed_id = runs_id if still_open and runs_id is not None else ran_id
        start_id = installed_id if installed_id is not None else from_id
        start = versions.get(start_id) if start_id is not None else None
        end = versions[to_id]
        changes = module_changes(start, end) if start is not None else ()
        note = ""
        if start is not None and from_id is not None and start_id != from_id:
            verb = "runs" if still_open else "ran"
            note = f"Configuration was at {versions[from_id].text}; the device {verb} {start.text}."
        result.append(CarriedChange(app, start.text if start else "—", end.text, changes, note))
    if state in WAITING_STATES:  # a running attempt pushes what it loaded when it started
        result += _along(deployment_id, run_id, device_id, [(device_id, row[0]) for row in rows])
    return result


def _along(
    deployment_id: int, run_id: int, device_id: int, own: list[tuple[int, int]]
) -> list[CarriedChange]:
    """What the waiting deployment also pushes — for a run approved by a second person, only
    what an approval covered; what an import changed after it is shown as waiting."""
    approved = approved_configurations([(deployment_id, run_id, device_id)]).get(deployment_id)
    waiting = {w.application_id: w for w in approved.waiting} if approved else {}
    result = []
    for along in load_along({device_id}, own).get(device_id, ()):
        held = waiting.get(along.application_id)
        if held is None:
            result.append(
                CarriedChange(
                    along.application,
                    along.from_text,
                    along.configured.text,
                    along.changes,
                    ALONG_NOTE,
                )
            )
        else:
            result.append(
                CarriedChange(
                    along.application,
                    along.from_text,
                    "not pushed",
                    (),
                    f"{held.version} was configured after the run was approved ({held.why}): "
                    "this deployment leaves it out; a later approved run carries it.",
                )
            )
    return result
