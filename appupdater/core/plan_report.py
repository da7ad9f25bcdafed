"""A plan as JSON (for programs) and as text (for people)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypedDict

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


class PlanDocument(TypedDict):
    """What `appupdater plan --json` prints."""

    targets: list[TargetEntry]
    skipped: list[SkippedEntry]


def _text(version: VersionInfo | None) -> str | None:
    return None if version is None else version.text


def _changes(changes: Iterable[ModuleChange]) -> list[ChangeEntry]:
    return [
        {"module": c.module, "op": c.op.value, "from": c.from_version, "to": c.to_version}
        for c in changes
    ]


def plan_json(plan: Plan) -> PlanDocument:
    """``{"targets": [...], "skipped": [...]}``, sorted by device, application and module.
    `from` and `changes` are the configuration's change; `device_from` and `device_changes`
    what a deployment does to the device (from its installed version; the same when installed
    and configured agree)."""
    return {
        "targets": [
            {
                "device": t.device.name,
                "application": t.app.name,
                "configured": _text(t.configured),
                "installed": _text(t.installed),
                "from": t.from_version.text,
                "to": t.to_version.text,
                "changes": _changes(plan.changes(t)),
                "device_from": t.device_from.text,
                "device_changes": _changes(plan.device_changes(t)),
            }
            for t in plan.targets
        ],
        "skipped": [
            {"device": s.device.name, "application": s.app.name, "reason": s.reason}
            for s in plan.skipped
        ],
    }


def _line(c: ModuleChange) -> str:
    versions = {
        ChangeOp.ADDED: c.to_version,
        ChangeOp.REMOVED: c.from_version,
        ChangeOp.MODIFIED: f"{c.from_version} → {c.to_version}",
    }[c.op]
    return f"{_SIGN[c.op]} {c.module} {versions}"


def plan_text(plan: Plan) -> Iterator[str]:
    """Lines for a terminal: a heading, then each device with its applications and modules."""
    goals = ", ".join(f"{app.name} → {version.text}" for app, version in plan.selections)
    devices = plan.devices()
    yield f"Update {goals}\n"
    yield (
        f"{plural(len(devices), 'device')} affected, {plural(len(plan.targets), 'update')}, "
        f"{len(plan.skipped)} skipped\n"
    )
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
                + (", ".join(_line(c) for c in plan.device_changes(t)) or "no module changes")
                + "\n"
            )
        for c in plan.changes(t):
            yield f"    {_line(c)}\n"
    if plan.skipped:
        yield "\nSkipped:\n"
        for s in plan.skipped:
            yield f"  {s.device.name} {s.app.name}: {s.reason}\n"
