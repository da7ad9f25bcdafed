"""What the Deployment Overview knows and how it keeps it current, without Qt.

The window shows one run (or all) and looks at the database once a second. Reading a run of
100,000 deployments whole every second would be too slow, so the feed follows a protocol:

- a *whole read* when the shown run changes: the run's rows, every run's summary, and the
  revision seen (read before the rows, so a change in between is read twice, never missed;
  see appupdater/store/revisions.py);
- after that, *incremental reads*: the rows written after the seen revision (of every run, so
  every run's counts stay current), the summaries of the other runs they touched, and every
  run's summary each `FULL_EVERY` ticks or when a run appeared;
- *count reconciliation*: the shown runs' counts are taken from the rows held, not from a
  separate count query, so a run's bar and status agree with its rows whenever each was read.

A read is a plain function the window runs off the GUI thread; its result comes back through
`take_whole` / `take_changes`, which drop results of a run no longer shown. The window only
draws what the feed holds. `DeploymentTable` is the rows themselves, shared with the Qt model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from operator import attrgetter

from appupdater.core.overview import (
    DeploymentRow,
    RunSummary,
    deployment_rows,
    newest_revision,
    newest_run,
    run_summaries,
    target_summaries,
)
from appupdater.heap import gc_paused, settle
from appupdater.store.revisions import current_revision

ALL_RUNS = None
# run -> device id -> (applications text, deployment action)
Targets = dict[int, dict[int, tuple[str, str]]]


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
        self.counts: dict[int, Counter[str]] = {}  # run -> state -> rows held
        # device id -> name; read by the poller's thread, only ever grows
        self.device_names: dict[int, str] = {}
        self._where: dict[int, int] = {}  # deployment id -> position

    def load(
        self, rows: list[DeploymentRow], targets: Targets, counts: dict[int, Counter[str]]
    ) -> None:
        self.rows = rows
        self.targets = targets
        self.counts = counts
        self._where = {row.id: i for i, row in enumerate(rows)}
        self.device_names.update((row.device_id, row.device) for row in rows)

    def apply(
        self, changed: Iterable[DeploymentRow], targets: Targets | None = None
    ) -> tuple[list[int], list[int]]:
        """Take changed and new rows; returns (positions changed, positions arrived)."""
        for run, devices in (targets or {}).items():
            self.targets.setdefault(run, {}).update(devices)
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

    def counts_of_run(self, run_id: int) -> dict[str, int]:
        return {state: n for state, n in self.counts.get(run_id, {}).items() if n}


@dataclass(frozen=True)
class WholeRead:
    """A run's rows read whole, with every run's summary."""

    generation: int
    runs: list[RunSummary]
    rows: list[DeploymentRow]
    counts: dict[int, Counter[str]]
    targets: Targets
    seen: int


@dataclass(frozen=True)
class ChangesRead:
    """What changed since the seen revision."""

    generation: int
    runs: list[RunSummary]
    complete: bool  # `runs` is every run (else only those the changes touched)
    rows: list[DeploymentRow]  # changed rows of the shown run(s)
    targets: Targets | None  # of runs with rows not held yet
    seen: int


class OverviewFeed:
    """See the module docstring. Not thread-safe: call it from one thread (the GUI's); the
    read functions it hands out run anywhere."""

    FULL_EVERY = 10  # ticks between full recounts of every run (incremental in between)

    def __init__(self) -> None:
        self.table = DeploymentTable()
        self.runs: list[RunSummary] = []
        self.run_id: int | None = ALL_RUNS
        self.seen = 0  # the highest revision of deployments read
        self.reading = False  # a read is under way: no second one meanwhile
        self._generation = 0  # bumped when the shown run changes: late results are dropped
        self._ticks = 0

    # -- what to read ------------------------------------------------------------------------

    def show(self, run_id: int | None) -> Callable[[], WholeRead]:
        """Show `run_id` (None: every run); returns the whole read to run in the background."""
        self.run_id = run_id
        self._generation += 1
        self.reading = True
        generation = self._generation

        def read() -> WholeRead:
            with gc_paused():
                seen = current_revision()  # before the rows: a change in between is read twice
                rows = deployment_rows(run_id)
                counts = counts_of(rows)
                targets = target_summaries(None if run_id is None else [run_id])
                runs = run_summaries()
            settle()  # the rows live as long as they are shown: no full GC pass over them
            return WholeRead(generation, runs, rows, counts, targets, newest_revision(rows, seen))

        return read

    def changes(self) -> Callable[[], ChangesRead] | None:
        """The next incremental read, or None while a read is under way."""
        if self.reading:
            return None
        self.reading = True
        self._ticks += 1
        generation, run_id, seen = self._generation, self.run_id, self.seen
        newest_known = max((r.id for r in self.runs), default=0)
        full = self._ticks % self.FULL_EVERY == 0
        table = self.table
        names = table.device_names

        def read() -> ChangesRead:
            changed = deployment_rows(run_id, seen, names)
            shown = [r for r in changed if run_id is None or r.run == run_id]
            others = sorted({r.run for r in changed if run_id is not None and r.run != run_id})
            complete = full or newest_run() > newest_known
            if complete:
                runs = run_summaries()
            elif others:
                runs = run_summaries(others)
            else:
                runs = []
            new_in = {r.run for r in shown if not table.knows(r.id)}
            targets = target_summaries(new_in) if new_in else None
            seen_now = newest_revision(changed, seen)
            return ChangesRead(generation, runs, complete, shown, targets, seen_now)

        return read

    # -- what came back ----------------------------------------------------------------------

    def take_whole(self, result: WholeRead) -> bool:
        """Hold a whole read; False (and nothing held) if the shown run changed meanwhile."""
        self.reading = False
        if result.generation != self._generation:
            return False
        self.table.load(result.rows, result.targets, result.counts)
        self.runs = self.reconciled(result.runs)
        self.seen = result.seen
        return True

    def take_changes(self, result: ChangesRead) -> tuple[list[int], list[int]] | None:
        """Apply an incremental read; (positions changed, positions arrived) in the table, or
        None if the shown run changed meanwhile."""
        self.reading = False
        if result.generation != self._generation:
            return None
        moved = self.table.apply(result.rows, result.targets)
        if result.complete:
            runs = result.runs
        else:
            fresh = {r.id: r for r in result.runs}
            runs = [fresh.get(run.id, run) for run in self.runs]
        self.runs = self.reconciled(runs)
        self.seen = result.seen
        return moved

    def read_failed(self) -> None:
        self.reading = False

    def reconciled(self, runs: list[RunSummary]) -> list[RunSummary]:
        """The runs, with the counts of those whose rows are held (the shown run, or all of
        them) taken from those rows: counts read in another query, a moment apart, could
        disagree with them, and the bar and status would be off until a recount."""
        return [
            replace(run, counts=self.table.counts_of_run(run.id))
            if self.run_id is None or run.id == self.run_id
            else run
            for run in runs
        ]
