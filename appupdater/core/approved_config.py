"""What a deployment of a run approved by a second person may push: never a configuration no
one approved.

A deployment pushes its device's whole configuration. With the second approver, every run's
configuration is approved before it is applied, and its review lists what its deployments also
push (core/along.py). An import needs no approval (docs/approval.md); one made *after* a run was
approved would ride on that run's deployment unseen. So such a deployment pushes the device's
configuration as of its newest revision made by a run (this run's, or a later approved run's,
whose review showed it) and leaves the imports made after it configured, for a later approved
run to carry. Runs without a second approver push the configuration as it is (an import is
then as much approved as anything, and its change is listed as "also pushed").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from appupdater.store.config_revisions import ConfigMap, decode
from appupdater.store.models import Application, Approval, AppVersion, ConfigRevision, UpdateRun
from appupdater.store.rows import tuples


@dataclass(frozen=True)
class Waiting:
    """An application's configured version no approval covered: it waits for a later run."""

    application_id: int
    application: str
    version: str
    why: str  # "import of fleet.yaml"

    def __str__(self) -> str:
        return f"{self.application} {self.version} ({self.why})"


@dataclass(frozen=True)
class Approved:
    """The configuration a deployment pushes instead of the device's current one, and what of
    the current one waits."""

    configured: ConfigMap
    waiting: tuple[Waiting, ...]

    @property
    def waits(self) -> tuple[str, ...]:
        """ "edge-gateway 3.10 (import of fleet.yaml)", by name."""
        return tuple(str(w) for w in self.waiting)


def approved_configurations(jobs: Iterable[tuple[int, int, int]]) -> dict[int, Approved]:
    """Of `jobs` (deployment id, run id, device id), those of runs approved by a second person
    whose device's configuration was changed by an import after the run's newest approved
    revision: by deployment id, what they push instead. Most jobs have none (one query on the
    runs)."""
    jobs = list(jobs)
    runs = {run for _, run, _ in jobs}
    approved = {
        r
        for (r,) in tuples(
            UpdateRun.select(UpdateRun.id).where(
                UpdateRun.id.in_(list(runs)) & (UpdateRun.approval == Approval.APPROVED.value)
            ),
            tuple[int],
        )
    }
    wanted = [(d, run, device) for d, run, device in jobs if run in approved]
    if not wanted:
        return {}
    history: dict[int, list[tuple[int | None, str, ConfigMap]]] = defaultdict(list)
    query = (
        ConfigRevision.select(
            ConfigRevision.device,
            ConfigRevision.run,
            ConfigRevision.reason,
            ConfigRevision.configured,
        )
        .where(ConfigRevision.device.in_([device for _, _, device in wanted]))
        .order_by(ConfigRevision.device, ConfigRevision.number)
    )
    for device, run, reason, configured in tuples(
        query, tuple[int, int | None, str, dict[str, int]]
    ):
        history[device].append((run, reason, decode(configured)))
    found: dict[int, tuple[ConfigMap, ConfigMap, list[str]]] = {}
    for deployment, run, device in wanted:
        revisions = history.get(device, [])
        own = [i for i, (made_by, _, _) in enumerate(revisions) if made_by == run]
        if not own:
            continue  # the run wrote no revision for it: nothing to hold to
        basis = max(i for i, (made_by, _, _) in enumerate(revisions) if made_by is not None)
        basis = max(basis, own[-1])
        if basis == len(revisions) - 1:
            continue  # nothing but runs changed it since: all approved
        reasons = [reason for made_by, reason, _ in revisions[basis + 1 :] if made_by is None]
        found[deployment] = (revisions[basis][2], revisions[-1][2], reasons)
    return _described(found)


def _described(found: dict[int, tuple[ConfigMap, ConfigMap, list[str]]]) -> dict[int, Approved]:
    versions = {v for _, now, _ in found.values() for v in now.values()}
    rows = tuples(
        AppVersion.select(AppVersion.id, Application.name, AppVersion.version)
        .join(Application)
        .where(AppVersion.id.in_(list(versions))),
        tuple[int, str, str],
    )
    names = {version_id: (app, text) for version_id, app, text in rows}
    result = {}
    for deployment, (basis, now, reasons) in found.items():
        why = ", ".join(dict.fromkeys(reasons)) or "a change no run approved"
        waiting = tuple(
            Waiting(app, *names[v], why)
            for app, v in sorted(now.items(), key=lambda item: names[item[1]][0])
            if basis.get(app) != v
        )
        if waiting:
            result[deployment] = Approved(basis, waiting)
    return result
