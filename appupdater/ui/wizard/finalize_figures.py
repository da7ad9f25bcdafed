"""The Finalize page's figures: devices per action, module operations as the tree shows them
(a deployed device's change from what it runs, and what its deployment also pushes), and the
facts its notes mention."""

from __future__ import annotations

from collections import Counter

from appupdater.core.along import AlongChange
from appupdater.core.planning import ChangeOp
from appupdater.core.words import noun, plural
from appupdater.ui.wizard.finalize_model import FinalizeModel
from appupdater.ui.wizard.state import WizardState


class FinalizeFigures:
    """Read from the wizard's state and the page's model each time they are asked for."""

    def __init__(self, state: WizardState, model: FinalizeModel) -> None:
        self.state = state
        self.model = model

    def counts(self) -> Counter[str]:
        """Devices per action, and module operations over all selected targets, as the tree
        shows them (a deployed device's change from what it runs)."""
        counts = Counter(devices=len(self.state.selected), added=0, removed=0, modified=0)
        counts.update(self.state.action_counts())
        diffs = self.model.plan.diffs  # the plan computed both changes of every target
        for key, uses in self.uses().items():
            for change in diffs[key]:
                counts[change.op.value] += uses
        for along in self.carried_along().values():
            for carried in along:
                for change in carried.changes:
                    counts[change.op.value] += 1
        return counts

    def carried_along(self) -> dict[int, tuple[AlongChange, ...]]:
        """Selected devices that are deployed and whose deployment also pushes applications
        outside the run (core/along.py), with those applications."""
        selected, deploys = self.state.selected, self.model.deploys
        return {
            device_id: along
            for device_id, along in self.model.plan.along.items()
            if device_id in selected and deploys(device_id)
        }

    def along_text(self) -> str:
        """ "3 devices also get other applications configured earlier and not on them yet
        (edge-gateway on 3 devices)"; "" when no deployment pushes more than the run."""
        carried = self.carried_along()
        if not carried:
            return ""
        per_app = Counter(c.application for along in carried.values() for c in along)
        apps = ", ".join(f"{app} on {plural(n, 'device')}" for app, n in sorted(per_app.items()))
        n = len(carried)
        return (
            f"{plural(n, 'device')} also {noun(n, 'gets', 'get')} other applications configured "
            f"earlier and not on {noun(n, 'it', 'them')} yet ({apps})"
        )

    def uses(self) -> Counter[tuple[int, int]]:
        """How many selected targets show each change: the configuration's (cached by the
        state), except for deployed devices that run another version (few: only they are
        visited)."""
        uses = Counter(self.state.diff_uses())
        selected, deploys = self.state.selected, self.model.deploys
        for device_id, targets in self.model.plan.drifted.items():
            if device_id in selected and deploys(device_id):
                for t in targets:
                    uses[t.diff_key] -= 1
                    uses[t.device_key] += 1
        return +uses  # without the keys no target uses any more

    def devices_that_differ(self) -> int:
        """Selected devices that run an earlier version than their configuration."""
        selected = self.state.selected
        return sum(1 for device_id in self.model.plan.drifted if device_id in selected)

    def skips_versions(self) -> bool:
        """True when a shown change jumps over a version and gains or loses modules."""
        plan = self.model.plan
        apps = {app.id: app for app, _ in plan.selections}
        for start_id, to_id in self.uses():
            start, to = plan.versions[start_id], plan.versions[to_id]
            between = any(start.parsed < v.parsed < to.parsed for v in apps[to.app_id].versions)
            ops = {c.op for c in plan.diffs[(start_id, to_id)]}
            if between and ops & {ChangeOp.ADDED, ChangeOp.REMOVED}:
                return True
        return False
