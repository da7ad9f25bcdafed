"""The Deployment page's summary line: what the selected devices go to, per application and
target version (a rollback's targets differ per device)."""

from __future__ import annotations

from appupdater.core.catalog import VersionInfo
from appupdater.core.planning import Plan
from appupdater.core.words import plural
from appupdater.ui.wizard.state import WizardState


def lead_text(plan: Plan, devices: int) -> str:
    """ "Updating 24 devices", "Rolling back run #12 on 24 devices", "Reverting press-01 to
    revision 3"."""
    on = plural(devices, "device")
    if plan.rollback_of is not None:
        return f"Rolling back run #{plan.rollback_of} on {on}"
    reason = plan.reason
    if reason is not None and reason.startswith("revert "):
        names = [d.name for d in plan.devices()]
        who = names[0] if len(names) == 1 else on
        return f"Reverting {who} {reason.removeprefix('revert ')}"
    if reason is not None:
        return f"{reason[:1].upper()}{reason[1:]} on {on}"
    return f"Updating {on}"


def summary_html(state: WizardState, devices: int) -> str:
    """ "Rolling back run #12 on 24 devices: <b>line-monitor</b> 2.1.0 → <b>2.0.0</b> on 20
    devices, → <b>1.2.0</b> on 4 devices." (rich text)."""
    plan = state.plan
    if plan is None or not devices:
        return "No device selected."
    versions = dict(plan.versions) or {v.id: v for app, _ in plan.selections for v in app.versions}
    # application → target version → (from versions, devices)
    per_app: dict[int, dict[int, tuple[set[int], int]]] = {}
    for (from_id, to_id), uses in state.diff_uses().items():
        goals = per_app.setdefault(versions[to_id].app_id, {})
        froms, count = goals.get(to_id, (set(), 0))
        froms.add(from_id)
        goals[to_id] = (froms, count + uses)
    lines = []
    for app, _ in plan.selections:
        goals = per_app.get(app.id, {})
        if not goals:
            continue
        parts = []
        previous: set[int] | None = None
        for to_id, (froms, count) in sorted(goals.items(), key=lambda kv: -kv[1][1]):
            shown = "" if froms == previous else _versions_text(versions, froms) + " "
            previous = froms
            parts.append(f"{shown}→ <b>{versions[to_id].text}</b> on {plural(count, 'device')}")
        lines.append(f"<b>{app.name}</b> " + ", ".join(parts))
    if not lines:
        return "No device selected."
    return f"{lead_text(plan, devices)}: " + "; ".join(lines) + "."


def _versions_text(versions: dict[int, VersionInfo], ids: set[int]) -> str:
    return ", ".join(v.text for v in sorted((versions[i] for i in ids), key=lambda v: v.parsed.key))
