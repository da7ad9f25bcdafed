"""What the wizard's pages share: the selections, the plan, the chosen devices and actions."""

from __future__ import annotations

from dataclasses import dataclass, field

from appupdater.core.planning import Plan, PlanTarget, Selection
from appupdater.core.runs import DEPLOY_NOW, DeviceAction


@dataclass
class WizardState:
    selections: list[Selection]
    plan: Plan | None = None
    selected: set[int] = field(default_factory=set)
    actions: dict[int, DeviceAction] = field(default_factory=dict)
    default_action: DeviceAction = DEPLOY_NOW

    def action(self, device_id: int) -> DeviceAction:
        return self.actions.get(device_id, self.default_action)

    def selected_devices(self) -> list[tuple[int, list[PlanTarget]]]:
        """Selected devices in plan order, each with its targets."""
        if self.plan is None:
            return []
        grouped: dict[int, list[PlanTarget]] = {}
        for target in self.plan.targets:
            if target.device.id in self.selected:
                grouped.setdefault(target.device.id, []).append(target)
        return list(grouped.items())

    def chosen_actions(self) -> dict[int, DeviceAction]:
        """The action of every selected device."""
        return {device_id: self.action(device_id) for device_id in self.selected}
