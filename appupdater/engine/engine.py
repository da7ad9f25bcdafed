"""The rollout engine: configures approved runs, starts deployments when they are due, runs them
on its own thread pool, and tells whoever listens what changed.

The database is the only record: the engine keeps no state a restart would lose. A dispatcher
(one thread) does every scheduling step against the database and queues what it claimed; workers
(up to `concurrency` threads) run queued attempts until the queue is empty, handing what the
attempts report to one writer thread (engine/writer.py), which writes it in batches: the
transactions per second do not grow with the attempts in flight. The GUI thread only starts the
dispatcher and receives signals, so a busy database never freezes a window.

The dispatcher keeps its connection from step to step (an idle engine opens none). When the
database goes away (engine/outage.py) the engine logs it once, drops the broken connection and
tries again at every tick; attempts that ended meanwhile keep their end in memory and write it
at the first step the database takes it, so no deployment is left `running`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import deque
from datetime import datetime, timedelta

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot

from appupdater import heap
from appupdater.core import approvals, attempts, rollout, scheduling
from appupdater.core.jobs import DeploymentJob
from appupdater.core.liveness import Watch
from appupdater.core.progress import run_end
from appupdater.core.runs import apply_configuration
from appupdater.core.words import plural
from appupdater.engine import outage
from appupdater.engine.asking import AdministratorActions
from appupdater.engine.clock import Clock, SystemClock
from appupdater.engine.execution import Handle, Unrecorded, execute
from appupdater.engine.gateways.base import Gateway
from appupdater.engine.pauses import LimitKeeper
from appupdater.engine.probing import Prober
from appupdater.engine.relay import Call, Relay
from appupdater.engine.settings import EngineSettings
from appupdater.engine.webhooks import WebhookSender
from appupdater.engine.writer import Writer
from appupdater.store import dbclock
from appupdater.store.db import translate_errors
from appupdater.store.models import DeploymentState, db

log = logging.getLogger("appupdater.engine")


class Engine(AdministratorActions, QObject):
    """See the module docstring. Start it with `start()`, end it with `stop()`. Built by
    `appupdater.engine.build.build_engine`; tests may hand it a gateway of their own. What an
    administrator asks (cancel, pause, …) is in engine/asking.py."""

    changed = Signal()  # something in the deployments changed: re-read the database
    deployment_finished = Signal(int, str)  # deployment id, end state (or queued when interrupted)
    deployment_failed = Signal(int, str, str)  # deployment id, device, message
    run_completed = Signal(int, int, int)  # run id, succeeded, failed
    run_paused = Signal(int, str)  # run id, why: its failures crossed the limit

    def __init__(
        self,
        gateway: Gateway,
        settings: EngineSettings | None = None,
        clock: Clock | None = None,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.gateway = gateway
        self.settings = settings or EngineSettings()
        self.clock = clock or SystemClock()
        self.instance = uuid.uuid4().hex
        # other engines' heartbeats, timed on this process's monotonic clock
        tick = timedelta(milliseconds=self.settings.tick_ms)
        self._watch = Watch(
            self.instance, self.settings.stale_after, self.clock.monotonic, tick=tick
        )
        self.workers = QThreadPool(self)
        self.workers.setMaxThreadCount(self.settings.concurrency)
        self.dispatcher = QThreadPool(self)
        self.dispatcher.setMaxThreadCount(1)
        self.dispatcher.setExpiryTimeout(-1)  # one thread, and its connection, for good
        self._connection = outage.Kept()  # the dispatcher's
        # progress and ends of every attempt, written in batches (workers hold no connection)
        self.writer = Writer(self.settings.progress_interval, self.clock.now)
        self._signals = Relay(self)
        self._signals.ready.connect(self._deliver)
        self._timer = QTimer(self)
        self._timer.setObjectName("engine-tick")
        self._timer.setInterval(self.settings.tick_ms)
        self._timer.timeout.connect(self._tick)
        self._lock = threading.Lock()
        # (deployment id, claim) → handle: a lost attempt may wind down beside the next claim
        self._handles: dict[tuple[int, int], Handle] = {}
        self._dispatch_pending = False
        self._full_pending = False
        self._stopping = True  # until start(): an engine not started does no work
        self._interrupting = False  # stop(interrupt=True): attempts claimed from now stop too
        self._completed_runs: set[int] = set()
        self._runs_seen: set[int] = set()  # runs with deployments this engine ran
        self._queue: deque[tuple[DeploymentJob, Handle]] = deque()  # claimed, for a worker
        self._loops = 0  # workers running _loop
        self._prober = Prober(gateway, self.settings, self.clock, self._signals.changed)
        self._steps = 0  # whole scheduling steps completed
        self._beaten = 0.0  # self.clock.monotonic() of this engine's last heartbeat
        self._outage = outage.OutageLog(self.clock.monotonic)
        # attempts that ended while the database was away, by (deployment id, claim): their
        # handles stay in _handles (the deployment is still `running` in the database)
        self._unrecorded: dict[tuple[int, int], Unrecorded] = {}
        # a step failed: a claim may have been taken without its answer (see requeue_untracked)
        self._untracked = False
        self._failed_since_step = False  # a deployment failed: check the limits before claiming
        self._limits = LimitKeeper(self._signals.run_paused)
        self._webhooks = WebhookSender(self.instance, self.clock)  # engine/webhooks.py

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        # What exists now (modules, Qt's wrappers, the catalog) lives as long as the process:
        # settled, it is not rescanned by the full collections that a rollout's allocations
        # set off, each of which held the GUI thread for ~13 ms (bench/engine.py).
        heap.settle()
        with self._lock:
            self._stopping = self._interrupting = False
        self.writer.start()
        self._timer.start()
        self.wake()

    def stop(self, *, interrupt: bool = True, msecs: int = -1) -> bool:
        """Stop scheduling. With `interrupt`, running attempts stop at once and go back to
        `queued` (they resume at the next start); otherwise they run to their end. Returns True
        when every worker has ended within `msecs`."""
        self._timer.stop()
        with self._lock:
            self._stopping = True
            self._interrupting = interrupt
            handles = list(self._handles.values())
        if interrupt:
            # a scheduling step may have claimed attempts that have no handle here yet: it
            # stops those itself when it registers them (see _dispatch_step)
            for handle in handles:
                handle.stop.set()
        # the dispatcher's kept connection is closed on the thread that opened it: after any step
        # still running, before waitForDone, which ends the pool's thread (the next start makes
        # a new one)
        self.dispatcher.start(Call(self._connection.close))
        self.dispatcher.waitForDone(msecs)
        done = self.workers.waitForDone(msecs)
        # a probe round ends within its request timeouts
        done = self._prober.join(None if msecs < 0 else msecs / 1000) and done
        # deliveries still in flight after a short wait end by their own deadline (daemons)
        self._webhooks.join(None if msecs < 0 else msecs / 1000)
        if done:  # every attempt has handed over its end: written before the writer ends
            done = self.writer.close(None if msecs < 0 else msecs / 1000)
        if done and db.obj is not None:
            try:  # on this thread's connection, which a restart of the server may have broken
                outage.retried(self._write_unrecorded)
                outage.retried(lambda: scheduling.forget_instance(self.instance))
            except Exception as exc:  # its heartbeat goes stale; other engines take over then
                log.warning(
                    "could not remove engine instance %s: %s", self.instance, outage.reason(exc)
                )
            with self._lock:
                outage.say_unrecorded(len(self._unrecorded))
        return done

    def drain(self) -> None:
        """Start nothing new; let the running attempts end on their own."""
        self._timer.stop()
        with self._lock:
            self._stopping = True

    @property
    def running(self) -> int:
        """Deployments this engine is running right now."""
        with self._lock:
            return len(self._handles)

    @property
    def steps(self) -> int:
        """How many whole scheduling steps have completed: a test that changes the clock or the
        database waits for two more, and then knows a whole step has seen the change."""
        with self._lock:
            return self._steps

    # -- scheduling --------------------------------------------------------------------------

    @Slot()
    def wake(self) -> None:
        """Run a whole scheduling step soon (at most one is waiting at any time)."""
        self._request(full=True)

    @Slot()
    def _tick(self) -> None:
        self._request(full=True)

    def _request(self, full: bool) -> None:
        with self._lock:
            self._full_pending = self._full_pending or full
            if self._dispatch_pending or self._stopping:
                return
            self._dispatch_pending = True
        self.dispatcher.start(Call(self._dispatch))

    def _dispatch(self) -> None:
        with self._lock:
            self._dispatch_pending = False
            full, self._full_pending = self._full_pending, False
            if self._stopping:
                return
        try:
            with self._connection.using():
                try:
                    changed = self._dispatch_step(full)
                except Exception:
                    outage.drop_connection()  # the next step opens a new one
                    raise
        except Exception as exc:
            with self._lock:
                self._untracked = True
            if outage.is_outage(exc):  # down, unreachable, locked: said once, tried each tick
                self._outage.failed(exc)
            else:
                log.exception("scheduling step failed")
            return
        self._outage.worked()
        if full:
            with self._lock:
                self._steps += 1
        if changed:
            self._signals.changed()

    def _dispatch_step(self, full: bool) -> bool:
        """A whole step (heartbeat, configure, promote, recover, report finished runs, claim) on
        every tick; after a deployment ends only the claim, so a fast rollout does not repeat
        the rest per deployment."""
        settings = self.settings
        changed = False
        with translate_errors():
            now = self.clock.now()
            changed = self._write_unrecorded()
            if full:
                self._beat(always=True)
                changed |= bool(approvals.expire_due(now))
                for run_id in scheduling.pending_runs():
                    self._beat()
                    applied = apply_configuration(run_id, now)
                    changed = changed or not applied.already_applied
                    log.info("run %d configured: %s", run_id, applied)
                self._beat()
                changed |= self._limits.step(now)
                changed |= bool(rollout.open_due_waves(now))
                changed |= bool(scheduling.promote_due(now))
                changed |= bool(scheduling.requeue_interrupted(now, self._watch))
                self._stop_lost_attempts()
                changed |= self._requeue_untracked(now)
                self._report_finished_runs()
                self._prober.maybe()
                self._webhooks.maybe()
            else:
                with self._lock:
                    failed, self._failed_since_step = self._failed_since_step, False
                if failed:  # before claiming more of a run that may have to pause
                    changed |= self._limits.step(now)
            with self._lock:
                free = settings.concurrency - len(self._handles)
            jobs = scheduling.claim(self.instance, self.clock.now, free)
            with self._lock:
                for job in jobs:
                    handle = Handle(claim=job.claim)
                    if self._interrupting:  # claimed while stop() ran: back to queued at once
                        handle.stop.set()
                    self._handles[job.id, job.claim] = handle
                    self._queue.append((job, handle))
                    self._runs_seen.add(job.run_id)
                start = min(settings.concurrency - self._loops, len(self._queue))
                self._loops += start
            for _ in range(start):
                self.workers.start(Call(self._loop))
        return changed or bool(jobs)

    def _write_unrecorded(self) -> bool:
        """Write the ends of attempts that ended while the database was away; raises while it
        still is."""
        with self._lock:
            pending = list(self._unrecorded.items())
        for key, unrecorded in pending:
            state = unrecorded.write()
            with self._lock:
                del self._unrecorded[key]
                self._handles.pop(key, None)
            self._ended(unrecorded.job, state, unrecorded.message)
        if pending:
            ended = plural(len(pending), "deployment")
            log.info("recorded the end of %s that ended while the database was away", ended)
        return bool(pending)

    def _requeue_untracked(self, now: datetime) -> bool:
        """After a failed step, deployments `running` under this engine that it runs nothing
        for (a claim the database took without answering) go back to the queue."""
        with self._lock:
            if not self._untracked:
                return False
            held = set(self._handles)
            self._untracked = False  # set again if this step fails
        requeued = attempts.requeue_untracked(self.instance, held, now)
        if requeued:
            log.warning(
                "%s claimed while the database went away: queued again",
                plural(len(requeued), "deployment"),
            )
        return bool(requeued)

    def _beat(self, *, always: bool = False) -> None:
        """Tell the other engines this one is alive (core/liveness.py): at the start of a whole
        step, and before each slow part of it once a tick has passed since the last beat."""
        now = self.clock.monotonic()
        if always or now - self._beaten >= self.settings.tick_ms / 1000:
            dbclock.refresh(db.obj)  # every minute: the server's time stamps what it writes
            scheduling.heartbeat(self.instance, socket.gethostname(), os.getpid(), self.clock.now())
            self._beaten = now

    def _stop_lost_attempts(self) -> None:
        """Attempts of this engine that another engine took over (this one was thought dead:
        suspended, stalled) stop now, even those whose gateway reports no progress."""
        with self._lock:
            handles = dict(self._handles)
        for attempt in scheduling.claims_lost(handles):
            handles[attempt].lost.set()

    def probe_now(self) -> None:
        """Probe at the next scheduling step (e.g. after connection settings changed)."""
        self._prober.request()
        self.wake()

    def _report_finished_runs(self) -> None:
        """Tell once about each run this engine worked on whose deployments all ended."""
        with self._lock:
            runs = list(self._runs_seen)
        for run_id in runs:
            end = run_end(run_id)
            if end.ended:
                with self._lock:
                    self._runs_seen.discard(run_id)
                    first = run_id not in self._completed_runs
                    self._completed_runs.add(run_id)
                if first:
                    self._signals.run_completed(run_id, end.succeeded, end.failed)

    def _loop(self) -> None:
        """A worker: runs queued attempts one after the other, and ends when the queue is
        empty. It needs no database connection: the writer writes for it."""
        while True:
            with self._lock:
                if not self._queue:
                    self._loops -= 1
                    break
                job, handle = self._queue.popleft()
            self._work(job, handle)
        self._request(full=True)  # the queue ran dry: look for finished runs and more work

    def _work(self, job: DeploymentJob, handle: Handle) -> None:
        try:
            state, message = execute(
                job, self.gateway, self.settings, self.clock, handle, self.writer
            )
        except Unrecorded as unrecorded:  # written by the dispatcher when the database is back
            log.debug("deployment %d ended; recorded when the database is back", job.id)
            with self._lock:
                self._unrecorded[job.id, job.claim] = unrecorded
            return
        except Exception:  # a bug of ours: the attempt is queued again at the next step
            log.exception("deployment %d could not be recorded", job.id)
            with self._lock:
                self._handles.pop((job.id, job.claim), None)
                self._untracked = True  # queued again at the next step
            self._signals.changed()
            return
        with self._lock:
            self._handles.pop((job.id, job.claim), None)
        self._ended(job, state, message)

    def _ended(self, job: DeploymentJob, state: DeploymentState | None, message: str) -> None:
        if state is None:  # nothing recorded: say only that something may have changed
            log.warning("deployment %d: taken over by another engine; stopped here", job.id)
            self._signals.changed()
        else:
            self._signals.finished(job.id, str(state))
            if state is DeploymentState.FAILED:
                self._signals.failed(job.id, job.device, message)
                with self._lock:
                    self._failed_since_step = True
        self._request(full=False)

    # -- signals into this thread ----------------------------------------------------------------

    @Slot()
    def _deliver(self) -> None:
        """What the engine's threads told since the last delivery, as this object's signals."""
        self._signals.deliver(self)
