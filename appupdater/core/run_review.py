"""What a recorded run will do, device by device, for the person who decides on it.

A run awaiting a second approver has targets but no deployments yet. Its review shows what
approving it does, as the wizard's Finalize showed the requester: per device its action, each
application's module changes — from what the device runs now when it is deployed, else the
configuration's change — and what its deployment also pushes (core/along.py). Read from the
database as it is now, so a device that changed since the request shows where it is now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import peewee

from appupdater.core.along import ALONG_NOTE, Diffs, changes_from, load_along
from appupdater.core.carried import target_device_app
from appupdater.core.catalog import VersionInfo, load_versions
from appupdater.core.plan_report import change_entries, change_line
from appupdater.core.planning import ModuleChange
from appupdater.core.words import plural
from appupdater.store.models import Application, DeployAction, Device, DeviceApp, Target


@dataclass(frozen=True)
class AppChange:
    """One application of a device in the review: from → to and its module changes."""

    application: str
    start: str  # "—": the device reported no version
    end: str
    changes: tuple[ModuleChange, ...]
    note: str = ""  # set for an application the deployment pushes along


@dataclass(frozen=True)
class DeviceReview:
    name: str
    site: str
    action: DeployAction
    at: datetime | None
    wave: int | None
    apps: tuple[AppChange, ...]
    # why approving leaves the device as it is (its configuration moved past the run's target
    # since the request: core/run_revisions.moved_past_targets); None: it changes as shown
    skipped: str | None = None


@dataclass
class RunReview:
    """A run's devices by name, and its changes counted per application and target version."""

    run_id: int
    devices: list[DeviceReview] = field(default_factory=list)
    # (application, target version) -> devices
    goals: Counter[tuple[str, str]] = field(default_factory=Counter)
    # application pushed along -> devices
    along: Counter[str] = field(default_factory=Counter)

    def skipped_count(self) -> int:
        """The devices approving leaves as they are: moved past the run since the request."""
        return sum(1 for d in self.devices if d.skipped)

    def summary(self) -> str:
        """ "line-monitor → 2.1.0 on 24 devices; 2 devices also get other applications
        configured earlier and not on them yet (edge-gateway on 2 devices)"."""
        parts = [
            f"{app} → {version} on {plural(n, 'device')}"
            for (app, version), n in sorted(self.goals.items())
        ]
        text = "; ".join(parts) or "no device changes"
        skipped = self.skipped_count()
        if skipped:
            left = "is left as it is" if skipped == 1 else "are left as they are"
            text += (
                f"; {plural(skipped, 'device')} changed since the request {left} "
                "(configured later than the run's version)"
            )
        if self.along:
            carried = sum(1 for d in self.devices if any(a.note for a in d.apps))
            apps = ", ".join(f"{a} on {plural(n, 'device')}" for a, n in sorted(self.along.items()))
            verb = "gets" if carried == 1 else "get"
            them = "it" if carried == 1 else "them"
            text += (
                f"; {plural(carried, 'device')} also {verb} other applications configured "
                f"earlier and not on {them} yet ({apps})"
            )
        return text


# (device id, name, site, application id, application, action, at, wave, from, to, installed,
# configured)
_Row = tuple[
    int,
    str,
    str,
    int,
    str,
    str,
    datetime | None,
    int | None,
    int | None,
    int,
    int | None,
    int | None,
]


def review_run(run_id: int) -> RunReview:
    """The review of run `run_id` (empty for a run without targets)."""
    query = (
        Target.select(
            Device.id,
            Device.name,
            Device.site,
            Application.id,
            Application.name,
            Target.action,
            Target.scheduled_at,
            Target.wave,
            Target.from_version,
            Target.to_version,
            DeviceApp.installed,
            DeviceApp.configured,
        )
        .join(Device)
        .switch(Target)
        .join(Application)
        .switch(Target)
        .join(
            DeviceApp,
            peewee.JOIN.LEFT_OUTER,
            on=target_device_app(),
        )
        .where((Target.run == run_id) & Target.skipped.is_null())
        .order_by(Device.name, Application.name)
    )
    # as store.rows.tuples does; a row type holding unions is no type[] for mypy
    rows = list(cast("Iterable[_Row]", query.tuples()))
    review = RunReview(run_id)
    if not rows:
        return review
    versions = load_versions({v for r in rows for v in (r[8], r[9], r[10], r[11]) if v is not None})
    skipped = _moved_past(rows, versions)
    deployed = {r[0] for r in rows if r[5] != DeployAction.NONE.value and r[0] not in skipped}
    along = load_along(deployed, ((r[0], r[3]) for r in rows if r[0] in deployed))
    diffs: Diffs = {}
    current: list[AppChange] = []
    for i, (
        device_id,
        name,
        site,
        _,
        app,
        action,
        at,
        wave,
        from_id,
        to_id,
        runs_id,
        _,
    ) in enumerate(rows):
        last = i + 1 == len(rows) or rows[i + 1][0] != device_id
        if device_id in skipped:
            if last:
                review.devices.append(
                    DeviceReview(name, site, DeployAction(action), at, wave, (), skipped[device_id])
                )
            continue
        start_id = runs_id if device_id in deployed and runs_id is not None else from_id
        current.append(_change(app, versions, start_id, to_id, diffs))
        review.goals[(app, versions[to_id].text)] += 1
        if not last:
            continue
        for carried in along.get(device_id, ()):
            current.append(
                AppChange(
                    carried.application,
                    carried.from_text,
                    carried.configured.text,
                    carried.changes,
                    ALONG_NOTE,
                )
            )
            review.along[carried.application] += 1
        review.devices.append(
            DeviceReview(name, site, DeployAction(action), at, wave, tuple(current))
        )
        current = []
    if skipped:  # first, so the approver sees them before a search (a stable sort: by name)
        review.devices.sort(key=lambda d: d.skipped is None)
    return review


def _moved_past(rows: list[_Row], versions: dict[int, VersionInfo]) -> dict[int, str]:
    """Devices whose configured version of one of the run's applications is now later than the
    run's: approving leaves them as they are (the configuration step skips them), with why."""
    found: dict[int, str] = {}
    for device_id, _, _, _, app, _, _, _, _, to_id, _, configured_id in rows:
        if device_id in found or configured_id is None:
            continue
        now, to = versions[configured_id], versions[to_id]
        if now.parsed.key > to.parsed.key:
            found[device_id] = f"{app} is configured {now.text}, later than the run's {to.text}"
    return found


def _change(
    app: str, versions: dict[int, VersionInfo], start_id: int | None, to_id: int, diffs: Diffs
) -> AppChange:
    start = versions[start_id] if start_id is not None else None
    to = versions[to_id]
    changes = changes_from(start, to, diffs)
    return AppChange(app, start.text if start is not None else "—", to.text, changes)


def review_json(review: RunReview) -> dict[str, object]:
    """What `appupdater review --run N --json` prints: the summary, how many devices approving
    leaves as they are (`skipped_devices`; each such device's `skipped` says why, and they come
    first), then each device with its action and applications (`also_pushed`: not the run's
    own, see core/along.py)."""
    return {
        "run": review.run_id,
        "summary": review.summary(),
        "skipped_devices": review.skipped_count(),
        "devices": [
            {
                "device": d.name,
                "site": d.site,
                "action": d.action.value,
                "at": d.at.isoformat() if d.at else None,
                "wave": d.wave,
                "skipped": d.skipped,
                "applications": [
                    {
                        "application": a.application,
                        "from": None if a.start == "—" else a.start,
                        "to": a.end,
                        "also_pushed": bool(a.note),
                        "changes": change_entries(a.changes),
                    }
                    for a in d.apps
                ],
            }
            for d in review.devices
        ],
    }


_ACTION_WORDS = {
    DeployAction.NOW: "deploy now",
    DeployAction.AT: "deploy at",
    DeployAction.NONE: "configuration only, not deployed",
}


def review_text(review: RunReview) -> Iterator[str]:
    """Lines for a terminal: the summary, then each device, its applications and modules."""
    yield f"Run {review.run_id}: {review.summary()}\n"
    for d in review.devices:
        when = _ACTION_WORDS[d.action]
        if d.at is not None:
            when += f" {d.at.astimezone():%Y-%m-%d %H:%M}"
        if d.wave is not None:
            when += f", wave {d.wave}"
        yield f"\n{d.name} ({d.site or 'no site'}): {when}\n"
        if d.skipped:
            yield f"  left as it is: changed since the request: {d.skipped}\n"
        for a in d.apps:
            along = "  (also pushed: configured earlier, not on the device yet)" if a.note else ""
            yield f"  {a.application} {a.start} → {a.end}{along}\n"
            for change in a.changes:
                yield f"    {change_line(change)}\n"
