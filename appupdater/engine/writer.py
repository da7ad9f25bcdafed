"""One thread that writes what every running attempt reports, a few transactions at a time.

Attempts report progress many times a second and end at any moment. Written one by one, each
report is its own transaction, and with a thousand attempts in flight the database spends its
time committing (one SQLite writer; a PostgreSQL connection per worker). Here attempts only hand
their reports over:

- **Progress** (phase, percent, the events logged on the way) is kept, the latest per attempt,
  and written for all attempts in one transaction every `interval` seconds. A crash loses at most
  that much progress; never a state change, which is not progress.
- **Ends** (succeeded, failed, retrying, cancelled, interrupted) are state changes: the attempt's
  thread waits until its end is committed. Ends that arrive while a transaction is being written
  go together into the next one (a group commit), each in a savepoint of its own, so one that
  fails for a reason of its own does not take the others with it. Each is conditional on the
  claim, as before (core/attempts.py).

So the transactions per second do not grow with the attempts in flight, and the workers need no
database connection at all: on PostgreSQL an engine holds a few connections, not one per worker.

When the database is away, progress waits in memory (the newest replaces the older, the events
add up) and ends come back to their attempts as the error, which the engine keeps as
`Unrecorded` and writes when the database is back (engine/outage.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from appupdater.core import attempts
from appupdater.core.attempts import ProgressReport, Reported
from appupdater.core.events import Event
from appupdater.core.jobs import DeploymentJob
from appupdater.engine.outage import drop_connection, is_outage
from appupdater.store.db import writing
from appupdater.store.models import DeploymentState, db

if TYPE_CHECKING:
    from appupdater.engine.execution import Handle

log = logging.getLogger("appupdater.engine")

EndWrite = Callable[[Sequence[Event]], DeploymentState | None]


class NotWritten(Exception):
    """An attempt's end could not be written (the database is away). `retry()` writes it, with
    the events it carried, on the calling thread's connection."""

    def __init__(self, job: DeploymentJob, write: EndWrite, events: Sequence[Event]):
        super().__init__(f"the end of deployment {job.id} could not be written")
        self.retry: Callable[[], DeploymentState | None] = lambda: write(events)


@dataclass
class _Progress:
    job: DeploymentJob
    handle: Handle
    phase: str
    percent: int
    events: list[Event] = field(default_factory=list)


@dataclass
class _End:
    job: DeploymentJob
    write: EndWrite
    events: list[Event]
    done: threading.Event = field(default_factory=threading.Event)
    state: DeploymentState | None = None
    error: BaseException | None = None


class Writer:
    """See the module docstring. `start()` it before attempts report, `close()` it after the
    last attempt ended: it writes what is left, then its thread ends."""

    def __init__(self, interval: float, now: Callable[[], datetime]):
        self.interval = interval
        self._now = now
        self._lock = threading.Condition()
        self._progress: dict[tuple[int, int], _Progress] = {}
        self._ends: list[_End] = []
        self._closing = False
        self._thread: threading.Thread | None = None
        self._flushed = time.monotonic()
        self.transactions = 0  # committed, for benchmarks and tests

    def start(self) -> None:
        """Start the thread; a thread still closing (a `close` that timed out) is waited for
        first: it ends once what it holds is written, and a new one takes over."""
        with self._lock:
            thread = self._thread
            if thread is not None and thread.is_alive() and not self._closing:
                return
        if thread is not None:
            thread.join()
        with self._lock:
            self._closing = False
            self._thread = threading.Thread(target=self._run, name="engine-writer", daemon=True)
            self._thread.start()

    def close(self, timeout: float | None = None) -> bool:
        """Write what is pending and end the thread; True when it ended within `timeout`."""
        with self._lock:
            thread = self._thread
            self._closing = True
            self._lock.notify_all()
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- what attempts hand over ----------------------------------------------------------------

    def progress(
        self, job: DeploymentJob, handle: Handle, phase: str, percent: int, event: Event | None
    ) -> None:
        """The attempt is at `phase`, `percent`; written with the next batch."""
        key = (job.id, job.claim)
        with self._lock:
            entry = self._progress.get(key)
            if entry is None:
                if not self._progress:  # the writer may wait without a deadline: give it one
                    self._lock.notify_all()
                entry = self._progress[key] = _Progress(job, handle, phase, percent)
            entry.phase, entry.percent = phase, percent
            if event is not None:
                entry.events.append(event)

    def end(
        self, job: DeploymentJob, write: EndWrite, events: Sequence[Event]
    ) -> DeploymentState | None:
        """Write the attempt's end (`write(events)`, conditional on its claim) with the next
        batch, after the events it logged on the way that are not written yet; wait for the
        commit and return what `write` returned. Raises what the write raised (an outage, for
        `NotWritten` when the database is away; any other error is the write's own."""
        with self._lock:  # one step: no batch can take this attempt's progress in between
            if self._closing or self._thread is None or not self._thread.is_alive():
                raise RuntimeError("the engine's writer is not running")
            pending = self._progress.pop((job.id, job.claim), None)
            entry = _End(job, write, [*(pending.events if pending else []), *events])
            self._ends.append(entry)
            self._lock.notify_all()
        entry.done.wait()
        if entry.error is None:
            return entry.state
        if is_outage(entry.error):
            raise NotWritten(job, write, entry.events) from entry.error
        raise entry.error

    def forget(self, job: DeploymentJob) -> None:
        """The attempt ended without an end to write (another engine took it over): its
        progress not yet written is dropped."""
        with self._lock:
            self._progress.pop((job.id, job.claim), None)

    # -- the thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    while not self._ends and not self._closing and not self._progress_due():
                        self._lock.wait(self._until_due())
                    ends, self._ends = self._ends, []
                    progress: list[_Progress] = []
                    if self._progress and (self._closing or self._progress_due()):
                        progress = list(self._progress.values())
                        self._progress = {}
                        self._flushed = time.monotonic()
                if ends or progress:
                    self._write(progress, ends)
                with self._lock:  # `end` refuses once closing: no end comes after this look
                    if self._closing and not self._ends and not self._progress:
                        return
        finally:
            drop_connection()

    def _progress_due(self) -> bool:
        return bool(self._progress) and time.monotonic() - self._flushed >= self.interval

    def _until_due(self) -> float | None:
        if not self._progress:
            return None
        return max(0.0, self.interval - (time.monotonic() - self._flushed))

    def _write(self, progress: list[_Progress], ends: list[_End]) -> None:
        answers: list[Reported] = []
        try:
            with writing():
                if progress:
                    answers = self._write_progress(progress)
                for end in ends:
                    try:
                        with db.obj.atomic():  # a savepoint: a bug in one end spares the rest
                            end.state = end.write(end.events)
                    except Exception as exc:
                        if is_outage(exc):
                            raise
                        log.exception("deployment %d: its end could not be written", end.job.id)
                        end.error = exc
            self.transactions += 1
        except Exception as exc:
            if not is_outage(exc):
                log.exception("writing progress and ends failed")
            drop_connection()  # a broken connection: the next batch opens a new one
            for end in ends:
                end.state, end.error = None, exc
            if progress and is_outage(exc):
                self._keep(progress)
            answers = []
        for entry, answer in zip(progress, answers, strict=False):
            if answer is Reported.CANCEL_REQUESTED:
                entry.handle.cancel.set()
            elif answer is Reported.CLAIM_LOST:
                entry.handle.lost.set()
        for end in ends:
            end.done.set()

    def _write_progress(self, progress: list[_Progress]) -> list[Reported]:
        """In a savepoint, so that a bug here does not cost the ends their commit; when the
        batch fails for a reason of its own, each report is tried alone, so only the one at
        fault is lost."""
        reports = [ProgressReport(p.job, p.phase, p.percent, p.events) for p in progress]
        try:
            with db.obj.atomic():
                return attempts.report_progress(reports, self._now())
        except Exception as exc:
            if is_outage(exc):
                raise
        answers = []
        for report in reports:
            try:
                with db.obj.atomic():
                    answers += attempts.report_progress([report], self._now())
            except Exception as exc:
                if is_outage(exc):
                    raise
                log.exception("deployment %d: its progress could not be written", report.job.id)
                answers.append(Reported.HELD)
        return answers

    def _keep(self, progress: list[_Progress]) -> None:
        """Progress that could not be written waits for the next batch: newer reports win,
        the events are kept in order. An attempt whose end came meanwhile takes the events
        with its end, before the end's own."""
        with self._lock:
            ending = {(end.job.id, end.job.claim): end for end in self._ends}
            for old in progress:
                key = (old.job.id, old.job.claim)
                end = ending.get(key)
                if end is not None:
                    end.events[:0] = old.events
                    continue
                new = self._progress.get(key)
                if new is None:
                    self._progress[key] = old
                else:
                    new.events[:0] = old.events
