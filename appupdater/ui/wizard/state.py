"""What the wizard's pages share: the selections, the plan, the chosen devices and actions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from appupdater.core.pending import PendingDeployment
from appupdater.core.planning import Plan, PlanTarget, Selection
from appupdater.core.runs import DEPLOY_NOW, DeviceAction
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
