"""A device's health and drift from what its agent reports (pure functions; core/devices.py
records them).

*Health* is the worst of its active modules': "unhealthy" when any health hook failed or a
module did not start (the agent's text starts with "unhealthy"), "healthy" when every module
said so, "unknown" otherwise (a module without a health hook or without an answer).

*Drift*: what the device runs differs from what it ran as configured. A device that ran its
configured version of an application and now reports another (it fell back on its own after a
deployment, someone installed something by hand) drifts, and stays drifted until it runs its
configuration again. A configuration not deployed yet (or whose deployment failed and was
rolled back by the agent) is no drift: the device never ran it. Where the device runs its
configured application version, each module of that version must run at its version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from appupdater.store.models import Health

HEALTHY = "healthy"
UNKNOWN = "unknown"
UNHEALTHY_PREFIX = "unhealthy"


@dataclass(frozen=True, slots=True)
class HealthSummary:
    modules: dict[str, dict[str, str]]  # module -> {"version", "health"}
    health: Health
    detail: str  # one line per module, worst first


def module_health(text: str) -> Health:
    if text.startswith(UNHEALTHY_PREFIX):
        return Health.UNHEALTHY
    return Health.HEALTHY if text == HEALTHY else Health.UNKNOWN


_RANK = {Health.UNHEALTHY: 0, Health.UNKNOWN: 1, Health.HEALTHY: 2}


def summarise(modules: Mapping[str, str], health: Mapping[str, str]) -> HealthSummary:
    """The modules an agent reports active (module -> version) with their health texts."""
    names = sorted({*modules, *health})
    reported = {
        name: {"version": modules.get(name, ""), "health": health.get(name) or UNKNOWN}
        for name in names
    }
    kinds = {name: module_health(reported[name]["health"]) for name in names}
    summary = min(kinds.values(), key=_RANK.__getitem__, default=Health.UNKNOWN)
    lines = []
    for name in sorted(names, key=lambda n: (_RANK[kinds[n]], n)):
        version = reported[name]["version"]
        lines.append(f"{name}{' ' + version if version else ''}: {reported[name]['health']}")
    return HealthSummary(reported, summary, "\n".join(lines))


@dataclass(frozen=True, slots=True)
class AppState:
    """One application on a device: its configured version, the installed version recorded
    before this probe, and what the probe reports now (None: not reported)."""

    app: str
    configured: str | None
    recorded: str | None
    reported: str | None
    # the configured version's modules (module -> version)
    configured_modules: Mapping[str, str]


def drift_of(
    apps: list[AppState], active_modules: Mapping[str, str], drifted_before: bool
) -> str | None:
    """Why the device drifts, in words ("line-monitor runs 1.0.0, configured 2.0.0"), or None."""
    lines = []
    for state in sorted(apps, key=lambda s: s.app):
        if state.configured is None or state.reported is None:
            continue  # not reported: the probe keeps its installed version as it was, too
        if state.reported != state.configured:
            if state.recorded == state.configured or drifted_before:
                lines.append(f"{state.app} runs {state.reported}, configured {state.configured}")
            continue
        if not active_modules:
            continue  # the device names no modules (an older agent): nothing to compare
        for module, version in sorted(state.configured_modules.items()):
            active = active_modules.get(module)
            if active != version:
                runs = f"runs {active}" if active else "does not run"
                lines.append(f"{module} {runs}, {state.app} {state.configured} has {version}")
    return "; ".join(lines) or None
