"""What the Deployment Overview knows and how it keeps it current, without Qt.

The window lists the runs its filter names (appupdater/core/run_list.py: recent and unfinished
ones by default), shows the deployments of one run (or of the listed runs, up to
`ALL_ROWS_LIMIT`) and looks at the database once a second. What it reads is bounded by what it
shows, never by the age of the database, so the feed follows a protocol:

- a *whole read* when the shown run or the run filter changes: the listed runs' summaries, the
  shown runs' rows, and the revision seen (read before the rows, so a change in between is read
  twice, never missed; see appupdater/store/revisions.py);
- after that, *incremental reads*: the rows written after the seen revision (of every run, so
  that a change anywhere is noticed), and the summaries of the listed runs they touched; every
  `FULL_EVERY` ticks, when a run appeared or the filter changed, the list is read again and the
  unfinished runs are recounted;
- *finished runs are not recounted*: their summaries are kept (`final`) until a change touches
  one of their deployments (a retry or Deploy now reopens a run: its rows get a new revision);
- *count reconciliation*: the shown runs' counts are taken from the rows held, not from a
  separate count query, so a run's bar and status agree with its rows whenever each was read.

A read is a plain function the window runs off the GUI thread; its result comes back through
`take_whole` / `take_changes`, which drop results of a run no longer shown. The window only
draws what the feed holds. `DeploymentTable` is the rows themselves, shared with the Qt model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from operator import attrgetter

from appupdater.core.overview import (
    DeploymentRow,
    RunSummary,
    deployment_rows,
    newest_revision,
    newest_run,
    run_summaries,
    runs_changed_since,
    target_summaries,
)
from appupdater.core.progress import RunStatus
from appupdater.core.rollout import Standing, standings, target_waves
from appupdater.core.run_list import RunFilter, listed_runs
from appupdater.heap import gc_paused, settle
from appupdater.store.fields import utcnow
from appupdater.store.revisions import current_revision

ALL_RUNS = None
ALL_ROWS_LIMIT = 100_000  # deployments held when no one run is shown: the newest listed runs'
OPEN = (RunStatus.CONFIGURING, RunStatus.IN_PROGRESS)
# run -> device id -> (applications text, deployment action)
Targets = dict[int, dict[int, tuple[str, str]]]
Waves = dict[int, dict[int, int]]  # run -> device id -> wave (runs in waves only)


def counts_of(rows: Iterable[DeploymentRow]) -> dict[int, Counter[str]]:
    """run -> state -> number of `rows` (one pass in C: fine for 100,000 rows)."""
    pairs = Counter(map(attrgetter("run", "state"), rows))
    counts: dict[int, Counter[str]] = {}
    for (run, state), number in pairs.items():
        counts.setdefault(run, Counter())[state] = number
    return counts


class DeploymentTable:
    """The deployments held, by position, with what is derived from them: where each id is,
    each run's counts by state, device names. Positions never move (rows only arrive at the
    end), so the Qt model can keep its own display order over them."""

    def __init__(self) -> None:
        self.rows: list[DeploymentRow] = []
        self.targets: Targets = {}
        self.waves: Waves = {}
        self.counts: dict[int, Counter[str]] = {}  # run -> state -> rows held
        # device id -> name; read by the poller's thread, only ever grows
        self.device_names: dict[int, str] = {}
        self._where: dict[int, int] = {}  # deployment id -> position

    def load(
        self,
        rows: list[DeploymentRow],
        targets: Targets,
        counts: dict[int, Counter[str]],
        waves: Waves | None = None,
    ) -> None:
        self.rows = rows
        self.targets = targets
        self.waves = waves or {}
        self.counts = counts
        self._where = {row.id: i for i, row in enumerate(rows)}
        self.device_names.update((row.device_id, row.device) for row in rows)

    def apply(
        self,
        changed: Iterable[DeploymentRow],
        targets: Targets | None = None,
        waves: Waves | None = None,
    ) -> tuple[list[int], list[int]]:
        """Take changed and new rows; returns (positions changed, positions arrived)."""
        for run, devices in (targets or {}).items():
            self.targets.setdefault(run, {}).update(devices)
        for run, wave_of in (waves or {}).items():
            self.waves.setdefault(run, {}).update(wave_of)
        touched: list[int] = []
        arrived: list[int] = []
        for row in changed:
            position = self._where.get(row.id)
            if position is None:
                self.device_names[row.device_id] = row.device
                self._where[row.id] = len(self.rows)
                arrived.append(len(self.rows))
                self.rows.append(row)
                self.counts.setdefault(row.run, Counter())[row.state] += 1
            elif self.rows[position] != row:
                before = self.rows[position].state
                if before != row.state:
                    counts = self.counts[row.run]
                    counts[before] -= 1
                    counts[row.state] += 1
                self.rows[position] = row
                touched.append(position)
        return touched, arrived

    def knows(self, deployment_id: int) -> bool:
        """Safe from the poller's thread: one lookup in a dict that only grows."""
        return deployment_id in self._where

    def position_of(self, deployment_id: int) -> int | None:
        return self._where.get(deployment_id)

    def wave_of(self, row: DeploymentRow) -> int | None:
        """The row's wave (None: its run goes all at once, or the device is not in a wave)."""
        return self.waves.get(row.run, {}).get(row.device_id)

    def counts_of_run(self, run_id: int) -> dict[str, int]:
        return {state: n for state, n in self.counts.get(run_id, {}).items() if n}


@dataclass(frozen=True)
class WholeRead:
    """The listed runs' summaries and the shown runs' rows, read whole."""

    generation: int
    runs: list[RunSummary]
    rows: list[DeploymentRow]
    counts: dict[int, Counter[str]]
    targets: Targets
    seen: int
    held: frozenset[int]  # the runs whose rows were read
    newest: int  # the newest run in the database
    # runs written since the last revision read before this one: a finished run among them may
    # have been reopened (a retry) by a change no incremental read will see any more
    touched: frozenset[int] = frozenset()
    waves: Waves = field(default_factory=dict)
    standings: dict[int, Standing] = field(default_factory=dict)  # of the listed runs


@dataclass(frozen=True)
class ChangesRead:
    """What changed since the seen revision."""

    generation: int
    runs: list[RunSummary]  # summaries read again (listed runs touched, new, or recounted)
    listed: list[int] | None  # the run list read again (None: as it was)
    touched: frozenset[int]  # every run whose deployments changed
    joining: frozenset[int]  # new runs whose rows are held from now on
    rows: list[DeploymentRow]  # changed rows of the shown run(s)
    targets: Targets | None  # of runs with rows not held yet
    seen: int
    newest: int
    waves: Waves | None = None  # of runs with rows not held yet
    # read at every look, of the listed runs: a pause or an abort changes no deployment
    standings: dict[int, Standing] = field(default_factory=dict)


def summaries(ids: list[int], known: dict[int, RunSummary]) -> list[RunSummary]:
    """The summaries of `ids` in that order: those in `known` as they are, the others read."""
    read = {run.id: run for run in run_summaries([i for i in ids if i not in known])}
    return [known.get(i) or read[i] for i in ids if i in known or i in read]


def held_for_all(runs: list[RunSummary]) -> list[int]:
    """The runs whose rows are shown when no one run is: the newest listed ones, as many as fit
    in `ALL_ROWS_LIMIT` deployments (at least one)."""
    held: list[int] = []
    total = 0
    for run in runs:
        if held and total + run.total > ALL_ROWS_LIMIT:
            break
        held.append(run.id)
        total += run.total
    return held


class OverviewFeed:
    """See the module docstring. Not thread-safe: call it from one thread (the GUI's); the
    read functions it hands out run anywhere."""

    FULL_EVERY = 10  # ticks between reading the run list again and recounting unfinished runs

    def __init__(self) -> None:
        self.table = DeploymentTable()
        self.runs: list[RunSummary] = []  # the listed runs, newest first
        self.standings: dict[int, Standing] = {}  # of the listed runs in waves, paused, aborted
        self.filter = RunFilter()
        self.final: dict[int, RunSummary] = {}  # finished runs: not read again until touched
        self.run_id: int | None = ALL_RUNS
        self.held: frozenset[int] = frozenset()  # the runs whose rows the table holds
        self.seen = 0  # the highest revision of deployments read
        self.newest = 0  # the newest run known: a newer one means the list is read again
        self.reading = False  # a read is under way: no second one meanwhile
        self._generation = 0  # bumped when the shown run changes: late results are dropped
        self._ticks = 0
        self._relist = False  # the filter changed: read the list at the next tick

    # -- what to read ------------------------------------------------------------------------

    def show(self, run_id: int | None) -> Callable[[], WholeRead]:
        """Show `run_id` (None: the listed runs); returns the whole read to run in the
        background."""
        self.run_id = run_id
        self._generation += 1
        self.reading = True
        generation, spec, known = self._generation, self.filter, dict(self.final)
        since = self.seen

        def read() -> WholeRead:
            with gc_paused():
                seen = current_revision()  # before the rows: a change in between is read twice
                touched = frozenset(runs_changed_since(since))
                for run in touched:
                    known.pop(run, None)  # a cached finished run may have been reopened
                newest = newest_run()
                if run_id is not None:
                    held = [run_id]
                    rows = deployment_rows(run_id)
                    runs = summaries(listed_runs(spec, utcnow()), known)
                else:  # which runs' rows fit is told by their summaries
                    runs = summaries(listed_runs(spec, utcnow()), known)
                    held = held_for_all(runs)
                    rows = deployment_rows(held)
                counts = counts_of(rows)
                targets = target_summaries(held) if held else {}
                standing = standings(sorted({r.id for r in runs} | set(held)))
                in_waves = [i for i in held if (st := standing.get(i)) and st.waves]
                waves = target_waves(in_waves)
            settle()  # the rows live as long as they are shown: no full GC pass over them
            seen = newest_revision(rows, seen)
            return WholeRead(
                generation,
                runs,
                rows,
                counts,
                targets,
                seen,
                frozenset(held),
                newest,
                touched,
                waves,
                standing,
            )

        return read

    def filter_runs(self, spec: RunFilter) -> Callable[[], WholeRead] | None:
        """List the runs `spec` names. When the listed runs' rows are shown, they are read
        again (returns that read); else the list is read at the next tick (returns None)."""
        self.filter = spec
        if self.run_id is ALL_RUNS:
            return self.show(ALL_RUNS)
        self._relist = True
        return None

    def changes(self) -> Callable[[], ChangesRead] | None:
        """The next incremental read, or None while a read is under way."""
        if self.reading:
            return None
        self.reading = True
        self._ticks += 1
        generation, run_id, seen, spec = self._generation, self.run_id, self.seen, self.filter
        full = self._ticks % self.FULL_EVERY == 0 or self._relist
        self._relist = False
        listed = [r.id for r in self.runs]
        known = {r.id for r in self.runs} | set(self.final)
        final, held, newest_known = set(self.final), self.held, self.newest
        table = self.table
        names = table.device_names

        def read() -> ChangesRead:
            changed = deployment_rows(None, seen, names)
            newest = newest_run()
            relist = full or newest > newest_known
            ids = listed_runs(spec, utcnow()) if relist else listed
            touched = frozenset(r.run for r in changed)
            # new runs listed join the held ones when no one run is shown: all their rows are
            # changes from now on (their deployments may be created after this read)
            # (any run listed for the first time, not only newer ones: on PostgreSQL a run may
            # commit after a newer one)
            joining = frozenset(
                i for i in ids if i not in known and i not in held and run_id is ALL_RUNS
            )
            shown = [r for r in changed if r.run in held or r.run in joining]
            # a held run's counts come from its rows: touched, it is read on a full tick only
            again = [
                i
                for i in ids
                if (i in touched and i not in held) or i not in known or (full and i not in final)
            ]
            runs = run_summaries(again) if again else []
            new_in = {r.run for r in shown if not table.knows(r.id)}
            targets = target_summaries(new_in) if new_in else None
            standing = standings(sorted(set(ids) | ({run_id} if run_id is not None else set())))
            in_waves = [i for i in new_in if (st := standing.get(i)) and st.waves]
            waves = target_waves(in_waves) if in_waves else None
            seen_now = newest_revision(changed, seen)
            listed_now = ids if relist else None
            return ChangesRead(
                generation,
                runs,
                listed_now,
                touched,
                joining,
                shown,
                targets,
                seen_now,
                newest,
                waves,
                standing,
            )

        return read

    # -- what came back ----------------------------------------------------------------------

    def take_whole(self, result: WholeRead) -> bool:
        """Hold a whole read; False (and nothing held) if the shown run changed meanwhile."""
        if result.generation != self._generation:
            return False  # the read of what is shown now is still under way: still reading
        self.reading = False
        self.table.load(result.rows, result.targets, result.counts, result.waves)
        self.standings = result.standings
        self.held = result.held
        for run in result.touched:
            self.final.pop(run, None)
        self._keep(result.runs)
        self.runs = self.reconciled(result.runs)
        self.seen = result.seen
        self.newest = max(self.newest, result.newest)
        return True

    def take_changes(self, result: ChangesRead) -> tuple[list[int], list[int]] | None:
        """Apply an incremental read; (positions changed, positions arrived) in the table, or
        None if the shown run changed meanwhile."""
        if result.generation != self._generation:
            # dropped; the whole read of what is shown now is under way, and no poll may start
            # before it lands (one would read the changes without that run's rows held, and
            # move the seen revision past them: lost for good)
            return None
        self.reading = False
        for run in result.touched:
            self.final.pop(run, None)  # reopened, or changed: read again when listed
        self._keep(result.runs)
        self.held |= result.joining
        moved = self.table.apply(result.rows, result.targets, result.waves)
        self.standings = result.standings
        known = {r.id: r for r in self.runs} | self.final | {r.id: r for r in result.runs}
        order = result.listed if result.listed is not None else [r.id for r in self.runs]
        self.runs = self.reconciled([known[i] for i in order if i in known])
        self.seen = result.seen
        self.newest = max(self.newest, result.newest)
        return moved

    def read_failed(self) -> None:
        self.reading = False

    def _keep(self, runs: list[RunSummary]) -> None:
        """Keep the summaries of finished runs, as read (not reconciled), until touched."""
        for run in runs:
            if run.status in OPEN:
                self.final.pop(run.id, None)
            else:
                self.final[run.id] = run

    def reconciled(self, runs: list[RunSummary]) -> list[RunSummary]:
        """The runs, with the counts of those whose rows are held taken from those rows:
        counts read in another query, a moment apart, could disagree with them, and the bar and
        status would be off until a recount."""
        return [
            replace(run, counts=self.table.counts_of_run(run.id)) if run.id in self.held else run
            for run in runs
        ]
