"""A plan as JSON (for programs) and as text (for people)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypedDict

from appupdater.core.along import AlongChange
from appupdater.core.catalog import VersionInfo
from appupdater.core.planning import ChangeOp, ModuleChange, Plan
from appupdater.core.words import plural

_SIGN = {ChangeOp.ADDED: "+", ChangeOp.REMOVED: "-", ChangeOp.MODIFIED: "~"}

# "from" is a keyword, hence the functional form
ChangeEntry = TypedDict(
    "ChangeEntry", {"module": str, "op": str, "from": str | None, "to": str | None}
)
TargetEntry = TypedDict(
    "TargetEntry",
    {
        "device": str,
        "application": str,
        "configured": str | None,
        "installed": str | None,
        "from": str,
        "to": str,
        "changes": list[ChangeEntry],
        "device_from": str,
        "device_changes": list[ChangeEntry],
    },
)


class SkippedEntry(TypedDict):
    device: str
    application: str
    reason: str


class AlongEntry(TypedDict):
    """An application a device's deployment also pushes (core/along.py)."""

    device: str
    application: str
    installed: str | None
    configured: str
    device_changes: list[ChangeEntry]


class PlanDocument(TypedDict):
    """What `appupdater plan --json` prints."""

    targets: list[TargetEntry]
    skipped: list[SkippedEntry]
    carried_along: list[AlongEntry]


def _text(version: VersionInfo | None) -> str | None:
    return None if version is None else version.text


def change_entries(changes: Iterable[ModuleChange]) -> list[ChangeEntry]:
    return [
        {"module": c.module, "op": c.op.value, "from": c.from_version, "to": c.to_version}
        for c in changes
    ]


def plan_json(plan: Plan) -> PlanDocument:
    """``{"targets": [...], "skipped": [...], "carried_along": [...]}``, sorted by device,
    application and module. `from` and `changes` are the configuration's change; `device_from`
    and `device_changes` what a deployment does to the device (from its installed version; the
    same when installed and configured agree). `carried_along`: the device's other applications
    a deployment pushes too, because their configuration is not what the device runs."""
    names = {t.device.id: t.device.name for t in plan.targets}
    return {
        "targets": [
            {
                "device": t.device.name,
                "application": t.app.name,
                "configured": _text(t.configured),
                "installed": _text(t.installed),
                "from": t.from_version.text,
                "to": t.to_version.text,
                "changes": change_entries(plan.changes(t)),
                "device_from": t.device_from.text,
                "device_changes": change_entries(plan.device_changes(t)),
            }
            for t in plan.targets
        ],
        "skipped": [
            {"device": s.device.name, "application": s.app.name, "reason": s.reason}
            for s in plan.skipped
        ],
        "carried_along": [
            {
                "device": names[device_id],
                "application": c.application,
                "installed": _text(c.installed),
                "configured": c.configured.text,
                "device_changes": change_entries(c.changes),
            }
            for device_id, along in sorted(plan.along.items(), key=lambda kv: names[kv[0]])
            for c in along
        ],
    }


def change_line(c: ModuleChange) -> str:
    versions = {
        ChangeOp.ADDED: c.to_version,
        ChangeOp.REMOVED: c.from_version,
        ChangeOp.MODIFIED: f"{c.from_version} → {c.to_version}",
    }[c.op]
    return f"{_SIGN[c.op]} {c.module} {versions}"


def _along_lines(along: Iterable[AlongChange]) -> Iterator[str]:
    for c in along:
        yield (
            f"  {c.application} {c.from_text} → {c.configured.text}  (also pushed when deployed: "
            "configured earlier, not on the device yet)\n"
        )
        for change in c.changes:
            yield f"    {change_line(change)}\n"


def plan_text(plan: Plan) -> Iterator[str]:
    """Lines for a terminal: a heading, then each device with its applications and modules."""
    goals = ", ".join(f"{app.name} → {version.text}" for app, version in plan.selections)
    devices = plan.devices()
    yield f"Update {goals}\n"
    yield (
        f"{plural(len(devices), 'device')} affected, {plural(len(plan.targets), 'update')}, "
        f"{len(plan.skipped)} skipped\n"
    )
    if plan.along:
        yield (
            f"{plural(len(plan.along), 'device')} also get changes configured earlier and not on "
            "them yet, when deployed (a deployment pushes the whole configuration)\n"
        )
    last = {t.device.id: t for t in plan.targets}
    current = None
    for t in plan.targets:
        if t.device.id != current:
            current = t.device.id
            state = "" if t.device.online else ", offline"
            yield f"\n{t.device.name} ({t.device.site or 'no site'}{state})\n"
        yield (
            f"  {t.app.name} {t.from_version.text} → {t.to_version.text}"
            f"  (configured {_text(t.configured) or '-'}, installed {_text(t.installed) or '-'})\n"
        )
        if t.device_differs:
            yield (
                f"    a deployment takes the device from {t.device_from.text}: "
                + (", ".join(change_line(c) for c in plan.device_changes(t)) or "no module changes")
                + "\n"
            )
        for c in plan.changes(t):
            yield f"    {change_line(c)}\n"
        if t is last.get(t.device.id):
            yield from _along_lines(plan.along.get(t.device.id, ()))
    if plan.skipped:
        yield "\nSkipped:\n"
        for s in plan.skipped:
            yield f"  {s.device.name} {s.app.name}: {s.reason}\n"
