"""What the wizard's pages share: the selections, the plan, the chosen devices and actions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from appupdater.core.pending import PendingDeployment
from appupdater.core.planning import Plan, PlanTarget, Selection
from appupdater.core.runs import DEPLOY_NOW, DeviceAction
from appupdater.core.waves import Strategy
from appupdater.heap import gc_paused
from appupdater.store.fields import utcnow
from appupdater.store.models import DeployAction


@dataclass
class WizardState:
    """Change `plan` and `selected` through `set_plan` and `select`, so derived lists stay true."""

    selections: list[Selection]
    plan: Plan | None = None
    selected: set[int] = field(default_factory=set)
    actions: dict[int, DeviceAction] = field(default_factory=dict)
    default_action: DeviceAction = DEPLOY_NOW
    # what the pages take as "now" (aware UTC); tests hand in a clock they drive
    now: Callable[[], datetime] = utcnow
    # in waves (None: all at once); each deploy-now device's wave, filled in `wave_order` (the
    # Deployment page's sort order; None: plan order) except the devices moved by hand
    strategy: Strategy | None = None
    # the team's default strategy the Deployment page started from (core/team_settings.py)
    default_strategy: Strategy | None = None
    waves: dict[int, int] = field(default_factory=dict)
    moved_by_hand: dict[int, int] = field(default_factory=dict)
    wave_order: list[int] | None = None
    _wave_count: int = field(default=0, repr=False)
    _grouped: list[tuple[int, list[PlanTarget]]] | None = field(default=None, repr=False)
    _diff_uses: Counter[tuple[int, int]] | None = field(default=None, repr=False)

    def set_plan(self, plan: Plan, selected: set[int]) -> None:
        self.plan = plan
        self.selected = selected
        self._grouped = self._diff_uses = None

    def select(self, device_ids: Iterable[int], checked: bool) -> None:
        if checked:
            self.selected.update(device_ids)
        else:
            self.selected.difference_update(device_ids)
        self._grouped = self._diff_uses = None

    def action(self, device_id: int) -> DeviceAction:
        return self.actions.get(device_id, self.default_action)

    def selected_devices(self) -> list[tuple[int, list[PlanTarget]]]:
        """Selected devices in plan order, each with its targets (computed once per change)."""
        if self.plan is None:
            return []
        if self._grouped is None:
            grouped: dict[int, list[PlanTarget]] = {}
            selected = self.selected
            with gc_paused():
                for target in self.plan.targets:
                    if target.device.id in selected:
                        grouped.setdefault(target.device.id, []).append(target)
                self._grouped = list(grouped.items())
        return self._grouped

    def action_counts(self) -> dict[str, int]:
        """How many selected devices deploy now, at a time, or not at all."""
        counts = dict.fromkeys((a.value for a in DeployAction), 0)
        explicit = 0
        for device_id, action in self.actions.items():
            if device_id in self.selected:
                counts[action.action.value] += 1
                explicit += 1
        counts[self.default_action.action.value] += len(self.selected) - explicit
        return counts

    def diff_uses(self) -> Counter[tuple[int, int]]:
        """How many selected targets use each (from, to) diff (computed once per change)."""
        if self._diff_uses is None:
            self._diff_uses = Counter(
                t.diff_key for _, targets in self.selected_devices() for t in targets
            )
        return self._diff_uses

    def late_times(self, now: datetime) -> list[tuple[int, datetime]]:
        """Selected devices whose deployment time is not after `now` (only timed actions can be),
        with that time."""
        return [
            (device_id, action.at)
            for device_id, action in self.actions.items()
            if action.at is not None and action.at <= now and device_id in self.selected
        ]

    def pending(self, device_id: int) -> PendingDeployment | None:
        """The device's deployment of an earlier run that has not ended, if any."""
        return self.plan.pending.get(device_id) if self.plan is not None else None

    def choices_made(self) -> tuple[int, int]:
        """What Cancel would discard: (affected devices left out, devices given an action)."""
        if self.plan is None:
            return 0, 0
        left_out = len({t.device.id for t in self.plan.targets} - self.selected)
        return left_out, sum(1 for device_id in self.actions if device_id in self.selected)

    def chosen_actions(self) -> dict[int, DeviceAction]:
        """The action of every selected device."""
        return {device_id: self.action(device_id) for device_id in self.selected}

    # -- waves ---------------------------------------------------------------------------------

    def set_strategy(self, strategy: Strategy | None) -> None:
        self.strategy = strategy
        self.fill_waves()

    def strategy_chosen(self) -> bool:
        """Whether the administrator chose another strategy than the team's default."""
        return self.strategy != self.default_strategy

    def set_wave_order(self, order: list[int] | None) -> None:
        """Fill the waves in this order of device ids (the page's sort order)."""
        self.wave_order = order
        self.fill_waves()

    def move_to_wave(self, device_ids: Iterable[int], wave: int) -> None:
        """Put deploy-now devices in `wave` by hand: they keep it when the waves re-fill."""
        for device_id in device_ids:
            if device_id in self.waves:
                self.moved_by_hand[device_id] = wave
        self.fill_waves()

    def wave_count(self) -> int:
        """How many waves the strategy makes of the deploy-now devices (0: all at once); a
        wave the devices moved by hand emptied still counts."""
        return self._wave_count

    def fill_waves(self) -> None:
        """Each deploy-now device's wave: the strategy's sizes over all of them, the devices
        moved by hand in their wave, the others filling what is left of each wave in order."""
        self.waves = {}
        self._wave_count = 0
        strategy = self.strategy
        if strategy is None:
            return
        order = self.wave_order
        if order is None:
            order = [device_id for device_id, _ in self.selected_devices()]
        actions, default = self.actions, self.default_action
        selected = self.selected
        now = [
            d for d in order if d in selected and actions.get(d, default).action is DeployAction.NOW
        ]
        sizes = strategy.sizes(len(now))
        if not sizes:
            return
        last = self._wave_count = len(sizes)
        waves = self.waves
        for device_id, wave in self.moved_by_hand.items():
            if device_id in selected and actions.get(device_id, default).action is DeployAction.NOW:
                waves[device_id] = min(wave, last)
        room = list(sizes)
        for wave in waves.values():
            room[wave - 1] -= 1
        wave = 0
        for device_id in now:
            if device_id in waves:
                continue
            while wave < last - 1 and room[wave] <= 0:
                wave += 1
            waves[device_id] = wave + 1
            room[wave] -= 1
