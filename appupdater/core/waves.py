"""A run's rollout strategy: all at once, or in waves (a canary first, then groups), with a soak
time between waves and a failure limit that pauses the run. Plain values and pure functions:
what the wizard shows, what `appupdater update --waves` parses and what a run stores.

Sizes are a count of devices or a percentage of the run's deploy-now devices (rounded down, at
least 1); the last may be "the rest". Devices are put into waves in the order given (the
Deployment page's sort order), so sorting by site gives site-by-site waves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from appupdater.errors import AppUpdaterError, RunError

DEFAULT_SOAK_MINUTES = 0.0
DEFAULT_MAX_FAILURES_PERCENT = 10.0
MIN_FINISHED_FOR_LIMIT = 5  # the limit applies once min(this, wave size) deployments finished


class StrategyError(AppUpdaterError, ValueError):
    """A strategy that cannot be used; the message names the part that is wrong."""


@dataclass(frozen=True)
class WaveSize:
    """One wave's size: `count` devices, `percent` % of the run's deploy-now devices, or the
    rest."""

    count: int | None = None
    percent: float | None = None

    @property
    def rest(self) -> bool:
        return self.count is None and self.percent is None

    def devices(self, total: int) -> int:
        """How many devices of `total` this size takes (before the rest is known)."""
        if self.count is not None:
            return self.count
        if self.percent is not None:
            return max(1, math.floor(total * self.percent / 100))
        return total

    def __str__(self) -> str:
        if self.count is not None:
            return str(self.count)
        if self.percent is not None:
            return f"{self.percent:g}%"
        return "rest"


REST = WaveSize()


@dataclass(frozen=True)
class Strategy:
    """In waves: their sizes in order, the soak time between them and the failure limit."""

    waves: tuple[WaveSize, ...]
    soak_minutes: float = DEFAULT_SOAK_MINUTES
    max_failures_percent: float = DEFAULT_MAX_FAILURES_PERCENT

    def __post_init__(self) -> None:
        if not self.waves:
            raise StrategyError("a rollout in waves needs at least one wave")
        for place, size in enumerate(self.waves, 1):
            if size.rest and place != len(self.waves):
                raise StrategyError(f"wave {place}: only the last wave can be 'the rest'")
            if size.count is not None and size.count < 1:
                raise StrategyError(f"wave {place}: a wave needs at least 1 device")
            if size.percent is not None and not 0 < size.percent <= 100:
                raise StrategyError(f"wave {place}: a percentage must be above 0 and at most 100")
        if not (math.isfinite(self.soak_minutes) and 0 <= self.soak_minutes <= 7 * 24 * 60):
            raise StrategyError("the soak time must be between 0 minutes and 7 days")
        if not (math.isfinite(self.max_failures_percent) and 0 <= self.max_failures_percent <= 100):
            raise StrategyError("the failure limit must be between 0 % and 100 %")

    def sizes(self, total: int) -> list[int]:
        """The number of devices in each wave for `total` deploy-now devices, in order: waves
        take what their size says while devices are left; the rest (or, without a rest, the
        devices the sizes leave over) go to the last wave. Waves that would be empty are
        dropped."""
        sizes: list[int] = []
        left = total
        for size in self.waves:
            if left <= 0:
                break
            take = left if size.rest else min(left, size.devices(total))
            sizes.append(take)
            left -= take
        if left > 0 and sizes:
            sizes[-1] += left
        return sizes

    def spec(self) -> str:
        """The sizes as `appupdater update --waves` takes them: ``1,10%,rest``."""
        return ",".join(str(size) for size in self.waves)


def parse_waves(spec: str) -> tuple[WaveSize, ...]:
    """``1,10%,50%,rest`` → the wave sizes; raises StrategyError naming the part it cannot
    read."""
    sizes = []
    for place, part in enumerate(spec.split(","), 1):
        text = part.strip().lower()
        if text == "rest":
            sizes.append(REST)
        elif re.fullmatch(r"[0-9]{1,9}", text):
            sizes.append(WaveSize(count=int(text)))
        elif re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,2})?\s*%", text):
            sizes.append(WaveSize(percent=float(text.rstrip("%").strip())))
        else:
            raise StrategyError(
                f"wave {place} of '{spec}': '{part.strip()}' is not a number of devices, a "
                "percentage (10%) or 'rest'"
            )
    return tuple(sizes)


def assign(devices: Sequence[int], strategy: Strategy | None) -> dict[int, int]:
    """Each device's wave (1-based), filling the waves in the order of `devices`; {} when all
    at once."""
    if strategy is None:
        return {}
    waves: dict[int, int] = {}
    start = 0
    for number, size in enumerate(strategy.sizes(len(devices)), 1):
        for device in devices[start : start + size]:
            waves[device] = number
        start += size
    return waves


def limit_crossed(failed: int, finished: int, wave_size: int, max_percent: float) -> bool:
    """Whether `failed` of `finished` deployments cross the failure limit: more than
    `max_percent` % failed, once at least min(MIN_FINISHED_FOR_LIMIT, wave size) finished."""
    if finished < min(MIN_FINISHED_FOR_LIMIT, max(1, wave_size)):
        return False
    return failed * 100 > max_percent * finished


def resolve_waves(
    names: Mapping[int, str],
    deploy_now: Set[int],
    strategy: Strategy | None,
    waves: Mapping[int, int] | None,
) -> dict[int, int]:
    """Each deploy-now device's wave (device id → 1-based number) for a run of the devices
    `names` (id → name, in the targets' order) of which `deploy_now` deploy now (the others
    have no wave); {} when all at once. Raises `RunError` naming what cannot be used."""
    now_devices = [d for d in names if d in deploy_now]
    if strategy is None:
        if waves:
            raise RunError("waves need a strategy: choose 'In waves' or leave the waves out")
        return {}
    if waves is None:
        return assign(now_devices, strategy)
    problems = []
    for device_id, wave in waves.items():
        name = names.get(device_id, f"device #{device_id}")
        if device_id not in names or device_id not in deploy_now:
            problems.append(f"{name} is not deployed now, so it has no wave")
        elif not isinstance(wave, int) or wave < 1:
            problems.append(f"{name}: wave {wave} is not a wave (they are numbered from 1)")
    missing = [names[d] for d in now_devices if d not in waves]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        problems.append(f"no wave for {', '.join(missing[:5])}{more}")
    if problems:
        more = f" (and {len(problems) - 3} more problems)" if len(problems) > 3 else ""
        raise RunError(f"The waves cannot be used: {'; '.join(problems[:3])}{more}.")
    return dict(waves)


def stored_strategy(
    strategy: Strategy | None, wave_of: Mapping[int, int]
) -> dict[str, object] | None:
    """What a run stores of its strategy: the spec, each wave's device count as assigned (a
    wave the administrator emptied counts 0), the soak time and the failure limit."""
    if strategy is None:
        return None
    counts = [0] * max(wave_of.values(), default=0)
    for wave in wave_of.values():
        counts[wave - 1] += 1
    return {
        "spec": strategy.spec(),
        "waves": counts,
        "soak_minutes": strategy.soak_minutes,
        "max_failures_percent": strategy.max_failures_percent,
    }
