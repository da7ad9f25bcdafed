"""A plan as JSON (for programs) and as text (for people)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from appupdater.core.catalog import VersionInfo
from appupdater.core.planning import ChangeOp, Plan

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


def plan_json(plan: Plan) -> PlanDocument:
    """``{"targets": [...], "skipped": [...]}``, sorted by device, application and module."""
    return {
        "targets": [
            {
                "device": t.device.name,
                "application": t.app.name,
                "configured": _text(t.configured),
                "installed": _text(t.installed),
                "from": t.from_version.text,
                "to": t.to_version.text,
                "changes": [
                    {
                        "module": c.module,
                        "op": c.op.value,
                        "from": c.from_version,
                        "to": c.to_version,
                    }
                    for c in plan.changes(t)
                ],
            }
            for t in plan.targets
        ],
        "skipped": [
            {"device": s.device.name, "application": s.app.name, "reason": s.reason}
            for s in plan.skipped
        ],
    }


def plan_text(plan: Plan) -> Iterator[str]:
    """Lines for a terminal: a heading, then each device with its applications and modules."""
    goals = ", ".join(f"{app.name} → {version.text}" for app, version in plan.selections)
    devices = plan.devices()
    yield f"Update {goals}\n"
    yield (
        f"{len(devices)} device(s) affected, {len(plan.targets)} update(s), "
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
        for c in plan.changes(t):
            versions = {
                ChangeOp.ADDED: c.to_version,
                ChangeOp.REMOVED: c.from_version,
                ChangeOp.MODIFIED: f"{c.from_version} → {c.to_version}",
            }[c.op]
            yield f"    {_SIGN[c.op]} {c.module} {versions}\n"
    if plan.skipped:
        yield "\nSkipped:\n"
        for s in plan.skipped:
            yield f"  {s.device.name} {s.app.name}: {s.reason}\n"
