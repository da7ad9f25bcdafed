"""Settings a team shares through its database, not each workstation's own preferences: every
App Updater on the same fleet database reads the same value, and each change records who made
it and when: the rollout strategy new runs start from, and whether runs need a second
approver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from appupdater.core import audit
from appupdater.core.waves import (
    DEFAULT_MAX_FAILURES_PERCENT,
    DEFAULT_SOAK_MINUTES,
    Strategy,
    StrategyError,
    parse_waves,
)
from appupdater.store.db import writing
from appupdater.store.fields import utcnow
from appupdater.store.team_models import TeamSetting

DEFAULT_STRATEGY = "default_strategy"
SECOND_APPROVER = "second_approver"
DEFAULT_APPROVAL_EXPIRY = timedelta(hours=24)


@dataclass(frozen=True)
class Changed:
    """Who last changed a setting, and when (None: never changed, the built-in default holds)."""

    by: str
    at: datetime


def default_strategy() -> Strategy | None:
    """The strategy the Deployment page starts from: None is all at once (also when the stored
    value cannot be read any more, e.g. written by a newer App Updater)."""
    row = TeamSetting.get_or_none(TeamSetting.name == DEFAULT_STRATEGY)
    if row is None or not isinstance(row.value, dict):
        return None
    try:
        return strategy_from_stored(row.value)
    except (StrategyError, KeyError, TypeError, ValueError):
        return None


def set_default_strategy(
    strategy: Strategy | None, *, by: str, now: datetime | None = None
) -> None:
    """Make `strategy` (None: all at once) the team's default for new runs. Its soak time and
    failure limit must be whole numbers (minutes, percent): the wizard and File → Settings show
    them so, and a default they would round is not the one they say it is."""
    if strategy is not None:
        for number, what in (
            (strategy.soak_minutes, "soak time (minutes)"),
            (strategy.max_failures_percent, "failure limit (percent)"),
        ):
            if number != int(number):
                why = f"the team default's {what} must be a whole number, not {number:g}"
                audit.record_refusal(audit.SETTINGS, why, objects={"settings": [DEFAULT_STRATEGY]})
                raise StrategyError(why)
    _store(DEFAULT_STRATEGY, None if strategy is None else strategy_to_stored(strategy), by, now)


def _store(name: str, value: object, by: str, now: datetime | None) -> None:
    """Write one setting with who and when (the one place team settings are written), and its
    audit entry: the setting's name and new value (team settings hold no secrets)."""
    at = now or utcnow()
    with writing():
        audit.record(
            audit.SETTINGS, objects={"settings": [name]}, note=described(name, value), now=at
        )
        TeamSetting.insert(name=name, value=value, changed_at=at, changed_by=by).on_conflict(
            conflict_target=[TeamSetting.name],
            update={
                TeamSetting.value: value,
                TeamSetting.changed_at: at,
                TeamSetting.changed_by: by,
            },
        ).execute()


def described(name: str, value: object) -> str:
    """A setting's new value in words, for the audit trail."""
    if name == SECOND_APPROVER and isinstance(value, dict):
        if not value.get("on"):
            return "second approver turned off: runs are approved when they are recorded"
        hours = value.get("expires_after_hours")
        unit = "hour" if hours == 1 else "hours"
        return f"second approver turned on: requests expire after {hours:g} {unit}"
    if name == DEFAULT_STRATEGY:
        if not isinstance(value, dict):
            return "default strategy: all at once"
        return (
            f"default strategy: waves {value.get('spec')}, soak {value.get('soak_minutes'):g} "
            f"minutes, pause above {value.get('max_failures_percent'):g} % failed"
        )
    return f"{name} = {value!r}"


@dataclass(frozen=True)
class ApprovalPolicy:
    """Whether a run needs a second person's approval before anything is configured or
    deployed, and how long a request waits for that decision before it expires."""

    second_approver: bool = False
    expires_after: timedelta = DEFAULT_APPROVAL_EXPIRY


def approval_policy() -> ApprovalPolicy:
    """The team's policy: off until someone turns it on. A stored value this version cannot
    read (e.g. written by a newer App Updater) counts as ON: a safety check is not dropped
    because it cannot be read."""
    row = TeamSetting.get_or_none(TeamSetting.name == SECOND_APPROVER)
    if row is None:
        return ApprovalPolicy()
    value = row.value if isinstance(row.value, dict) else {}
    on, hours = value.get("on"), value.get("expires_after_hours")
    if not isinstance(on, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 30:
        return ApprovalPolicy(True)
    return ApprovalPolicy(on, timedelta(hours=hours))


def set_approval_policy(policy: ApprovalPolicy, *, by: str, now: datetime | None = None) -> None:
    """Turn the second approver on or off (and set how long a request waits)."""
    hours = policy.expires_after.total_seconds() / 3600
    if not 0 < hours <= 24 * 30:
        why = (
            f"a request for approval must expire after more than 0 and at most 720 hours, "
            f"not {hours:g}"
        )
        audit.record_refusal(audit.SETTINGS, why, objects={"settings": [SECOND_APPROVER]})
        raise ValueError(why)
    value = {"on": policy.second_approver, "expires_after_hours": hours}
    _store(SECOND_APPROVER, value, by, now)


def last_changed(name: str = DEFAULT_STRATEGY) -> Changed | None:
    row = TeamSetting.get_or_none(TeamSetting.name == name)
    return None if row is None else Changed(by=row.changed_by, at=row.changed_at)


def strategy_to_stored(strategy: Strategy) -> dict[str, object]:
    return {
        "spec": strategy.spec(),
        "soak_minutes": strategy.soak_minutes,
        "max_failures_percent": strategy.max_failures_percent,
    }


def strategy_from_stored(value: dict[str, object]) -> Strategy:
    """The inverse of `strategy_to_stored`; raises StrategyError (or KeyError/TypeError) on a
    value it cannot read."""
    spec = value["spec"]
    if not isinstance(spec, str):
        raise StrategyError(f"stored waves {spec!r} are not a spec like 1,10%,rest")
    soak = value.get("soak_minutes", DEFAULT_SOAK_MINUTES)
    limit = value.get("max_failures_percent", DEFAULT_MAX_FAILURES_PERCENT)
    if not isinstance(soak, int | float) or not isinstance(limit, int | float):
        raise StrategyError("stored soak time or failure limit is not a number")
    return Strategy(parse_waves(spec), float(soak), float(limit))
