"""The deployment state machine under random sequences of its moves: runs approved and
configured, engines heartbeating, claiming, dying and being taken over, attempts ending every
way (late reports of engines that lost their claim included), the administrator's actions, and
time passing. The invariants are checked after every call; no threads, no wall clock.

Invariants checked after every call (`_after`; a rule may make several, as the engine's step
does), besides what each rule checks of its own call (claim: exactly the oldest queued deployment of each free device, in id order, none that a
job still holds; promote: exactly the due ones; takeover: exactly the running ones of engines
whose heartbeat counter the taking engine saw stand still for `stale_after` on its own clock,
or whose row is gone; the administrator's actions: exactly the deployments in the states
they apply to; an attempt's end: the state its report asks for, or, for a job that lost its
claim, no change to the row at all):

1. At most one deployment per device is `running`, and each running one is held by the job the
   model last saw claim it (same instance, attempt number and claim number).
2. Attempts change only these ways: +1 when a deployment starts running (a claim); exactly -1
   when a running deployment goes back to `queued` (interrupt or takeover: the attempt is given
   back); reset to 0 by `retry`, and when a cancelled attempt starts waiting to ask its device
   to stop (its tries are counted afresh). Any other call leaves them as they were.
3. `succeeded` never changes; `failed` and `cancelled` change only to `queued` by `retry` or to
   `scheduled` by `reschedule` (what `actions.reschedule` allows).
4. Every change of a deployment's state is a transition the design allows, made by the action
   that may make it, and a new event of that deployment says so (its text is checked).
5. New events are written only for deployments whose row the call changed: a report of a job
   that lost its claim writes nothing at all.
6. A running deployment the administrator cancelled never deploys again: an attempt that ends
   without finishing (a transient failure, a quit) ends it `cancelled` once its device
   confirmed it stopped; when nobody knows (the device did not confirm, its engine died), it
   waits keeping the cancel request, and its next attempts only ask the device to stop.
7. A device never has two waiting deployments (one that only asks its device to stop does not
   count: it deploys nothing): a later run's deployment supersedes the waiting
   one of an earlier run (it ends `cancelled`, "superseded by run #N") — when it is made, and
   when its attempt goes back to waiting (an attempt's end, a takeover) — and one that would
   wait again while a later run's waits does not (an attempt's end, a takeover: `cancelled`;
   the administrator's retry or reschedule: left as it is).
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from appupdater.core import actions, attempts, scheduling
from appupdater.core.attempts import Reported
from appupdater.core.events import Event
from appupdater.core.jobs import DeploymentJob
from appupdater.core.liveness import Watch
from appupdater.core.runs import CONFIG_ONLY, DEPLOY_NOW, DeviceAction, apply_configuration
from appupdater.errors import RunError
from appupdater.store.db import close_database, open_database
from appupdater.store.models import DeployAction
from appupdater.store.models import db as db_proxy
from tests.core.lifecycle import (
    DEVICES,
    T0,
    VERSIONS,
    approve,
    device_ids,
    events_since,
    last_event_id,
    load_fleet,
    row,
    rows,
)

STALE_AFTER = timedelta(seconds=15)
BACKOFF = timedelta(seconds=30)
HOW = "the device was told to stop"  # how a gateway says the device stopped
_UNCONFIRMED = "{device} could not be asked to stop: unreachable"  # and that it did not
WAITING = ("scheduled", "queued", "retrying")
FINAL = ("succeeded", "failed", "cancelled")
_MINUTE = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
_REPLACES = r"(; it replaces the waiting deployment of run #\d+)?"
_SUPERSEDED = r"superseded by run #\d+: its deployment pushes this device's whole configuration"

# (state before, state after) → (the actions that may make it, the event that says so); `None`
# is "no deployment yet". {attempts} is the attempts after the call, {next} one more.
TRANSITIONS: dict[tuple[str | None, str], tuple[set[str], str]] = {
    (None, "queued"): (
        {"configure"},
        "configuration updated; deployment created, queued to deploy now" + _REPLACES,
    ),
    (None, "scheduled"): (
        {"configure"},
        f"configuration updated; deployment created, scheduled for {_MINUTE}" + _REPLACES,
    ),
    # created and superseded by a later run configured in the same step
    (None, "cancelled"): ({"configure"}, _SUPERSEDED),
    ("scheduled", "queued"): (
        {"promote", "deploy now"},
        r"scheduled time reached; (queued|started late by .+)|deploy now requested; queued",
    ),
    ("retrying", "queued"): (
        {"promote", "deploy now"},
        "next attempt is due; queued|deploy now requested; queued",
    ),
    ("queued", "running"): (
        {"claim"},
        r"attempt {attempts} started on {device}"
        r"|asking {device} to stop the deployment \(cancel requested; try {attempts} of 8\)",
    ),
    ("running", "queued"): (
        {"interrupt", "take over"},
        r"interrupted: App Updater quit; it resumes at the next start"
        r"|interrupted: App Updater quit before the device confirmed it stopped; the next start "
        r"takes it up again"
        r"|interrupted: the engine running it stopped \(crash, power loss or kill\); queued again"
        r"|cancel requested, but the engine running it stopped \(crash, power loss or kill\) "
        r"before the device confirmed it stopped; asking the device to stop",
    ),
    ("running", "succeeded"): ({"succeed"}, "deployed to {device}"),
    ("running", "retrying"): (
        {"fail", "unconfirmed"},
        r"{device} unreachable; retrying in .+ \(attempt {next} of \d\)"
        rf"|cancel requested, but {_UNCONFIRMED}; it may still finish: asking again in .+",
    ),
    ("running", "failed"): (
        {"fail", "unconfirmed"},
        r"{device} unreachable \(gave up after {attempts} attempts?\)"
        r"|{device} rejected the configuration"
        rf"|cancel requested, but {{device}} never confirmed it stopped \({_UNCONFIRMED}; asked "
        r"\d+ times\): it may have finished the update; check the device",
    ),
    ("running", "cancelled"): (
        {"cancelled", "fail", "interrupt", "take over"},
        r"cancelled while running; the device was told to stop"
        r"|{device} unreachable; cancelled while running, so not retried"
        rf"|({{device}} unreachable; not retried|interrupted: App Updater quit; not queued again"
        r"|interrupted: the engine running it stopped \(crash, power loss or kill\); not queued "
        rf"again); {_SUPERSEDED}",
    ),
    **{
        (s, "cancelled"): (
            # or a later run's deployment waits again: its attempt ended early, or was taken over
            {"cancel", "configure", "retry", "reschedule", "fail", "interrupt", "take over"},
            f"cancelled by the administrator|{_SUPERSEDED}",
        )
        for s in WAITING
    },
    **{(s, "queued"): ({"retry"}, "retry requested; queued") for s in ("failed", "cancelled")},
    **{
        (s, "scheduled"): ({"reschedule"}, f"rescheduled for {_MINUTE}")
        for s in ("queued", "retrying", "failed", "cancelled")
    },
}


def _pattern(template: str, **values: object) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", re.escape(str(value)))
    return template


@dataclass
class EngineModel:
    """What the test knows of one engine instance."""

    workers: int  # how many attempts it runs at once
    watch: Watch  # the engine's own, timed on the machine's clock
    beat: int = 0  # which heartbeat (of all engines, in order) was its last
    registered: bool = False  # it has its row: it beat since another engine took it over
    alive: bool = True  # heartbeats, claims and takes over; a dead engine does none of it
    # seconds it watched: each pause between two of its looks counts for stale_after / 4 at
    # most (a watcher that could not look could not see anybody beat either)
    watched: float = 0.0
    last_look: datetime | None = None
    # what it saw of the others when it last looked: engine → (their beat, since: watched)
    looked: dict[str, tuple[int, float]] = field(default_factory=dict)


class DeploymentMachine(RuleBasedStateMachine):
    """The deployment moves of `scheduling`, `attempts` and `actions` on a fresh database.
    An engine taken over may go on under the same id, as a process that was suspended does:
    its old attempts' late reports change nothing, not even the attempts it claimed since."""

    def __init__(self, template: Path):
        super().__init__()
        self.path = template.with_name(f"machine-{next(_DATABASES)}.sqlite3")
        shutil.copyfile(template, self.path)
        open_database(str(self.path))
        self.devices = {i: name for name, i in device_ids().items()}
        self.now = T0
        self.version = 1
        self.numbers = itertools.count(1)
        self.beats = itertools.count(1)
        self.engines: dict[str, EngineModel] = {}
        self.current: dict[int, DeploymentJob] = {}  # deployment → the job holding its claim
        self.stale: list[DeploymentJob] = []  # jobs whose claim was taken back, unreported
        self.cancel_asked: set[int] = set()  # running when the administrator cancelled them
        self.before = rows()
        self.seen = last_event_id()
        self.action = "start"
        self.retried: set[int] = set()

    def teardown(self) -> None:
        close_database()
        db_proxy.initialize(None)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    # -- helpers ---------------------------------------------------------------------------

    def live(self) -> list[str]:
        return [name for name, engine in self.engines.items() if engine.alive]

    def open(self) -> int:
        """Deployments not yet ended, and runs not yet configured (they will have some)."""
        ended = sum(r["state"] in FINAL for r in self.before.values())
        return len(self.before) - ended + len(scheduling.pending_runs())

    def _engine(self, data) -> str:
        return data.draw(st.sampled_from(self.live()), label="engine")

    def free(self, name: str) -> int:
        """Workers of engine `name` not running an attempt (one whose claim was taken back
        still runs in its process until it reports)."""
        running = sum(job.instance == name for job in (*self.current.values(), *self.stale))
        return self.engines[name].workers - running

    def _job(self, data) -> DeploymentJob:
        """A job to report: one that lost its claim as often as one that holds it."""
        pools = [pool for pool in (list(self.current.values()), self.stale) if pool]
        pool = pools[data.draw(st.integers(0, len(pools) - 1), label="late")]
        return pool[data.draw(st.integers(0, len(pool) - 1), label="job")]

    def _ids(self, data) -> list[int]:
        return data.draw(
            st.lists(st.sampled_from(sorted(self.before)), min_size=1, max_size=3, unique=True),
            label="deployments",
        )

    # -- the moves -------------------------------------------------------------------------
    #
    # One rule draws the move, with weights, among those that apply now. (Hypothesis switches
    # rules off at random per example; with a rule per move, most examples lost the moves that
    # make the interesting states: an engine's step, time passing, an attempt's end.)

    @initialize(workers=st.tuples(st.integers(1, 3), st.integers(1, 3)))
    def two_engines(self, workers):
        for count in workers:
            self._start(count)

    @rule(data=st.data())
    def step(self, data):
        moves = [name for name, weight, applies in MOVES if applies(self) for _ in range(weight)]
        getattr(self, data.draw(st.sampled_from(moves), label="move"))(data)

    def advance(self, data) -> None:
        seconds = data.draw(st.sampled_from([1, 10, 16, 31, 120, 900]), label="seconds")
        self.now += timedelta(seconds=seconds)

    def approve(self, data) -> None:
        choices = data.draw(
            st.lists(
                st.tuples(
                    st.sampled_from(DEVICES),
                    st.sampled_from(["now", "at", "none"]),
                    st.sampled_from([1, 30, 600]),
                ),
                min_size=1,
                max_size=3,
                unique_by=lambda choice: choice[0],
            ),
            label="devices, action, seconds to wait",
        )
        plan = {
            name: DEPLOY_NOW
            if how == "now"
            else CONFIG_ONLY
            if how == "none"
            else DeviceAction(DeployAction.AT, self.now + timedelta(seconds=seconds))
            for name, how, seconds in choices
        }
        approve(self.version, plan, self.now)
        self.version += 1
        self._after("approve")

    def start_engine(self, data) -> None:
        self._start(data.draw(st.integers(1, 3), label="workers"))

    def _start(self, workers: int) -> None:
        name = f"engine-{next(self.numbers)}"
        timer = lambda: (self.now - T0).total_seconds()  # noqa: E731
        self.engines[name] = EngineModel(workers, Watch(name, STALE_AFTER, timer))
        self._heartbeat(name)

    def engine_dies(self, data) -> None:
        """It stops heartbeating and claiming; its attempts may still report, late."""
        self.engines[self._engine(data)].alive = False

    def engine_resumes(self, data) -> None:
        dead = [name for name, engine in self.engines.items() if not engine.alive]
        name = data.draw(st.sampled_from(dead), label="engine")
        self.engines[name].alive = True
        self._heartbeat(name)

    def engine_step(self, data) -> None:
        """A tick of one engine, a few seconds after the last step: heartbeat, configure
        approved runs, promote due deployments, take over those of silent engines, claim for
        its free workers. Each call is checked on its own."""
        name = self._engine(data)
        self.now += timedelta(seconds=data.draw(st.sampled_from([1, 5, 10]), label="seconds"))
        self._heartbeat(name)
        self._configure()
        self._promote()
        self._take_over(name)
        self._claim(name, self.free(name))

    def suspended(self, data) -> None:
        """An engine running attempts stops for longer than `stale_after` (a suspended laptop,
        a stalled disk): another engine looks, and every 3 s for `stale_after`, and takes its
        deployments over; then the sleeper wakes, beats and claims, with its old attempts
        still in its workers (their late reports must change nothing)."""
        holders = sorted({job.instance for job in self.current.values()} & set(self.live()))
        sleeper = data.draw(st.sampled_from(holders), label="sleeper")
        watcher = data.draw(
            st.sampled_from([name for name in self.live() if name != sleeper]), label="watcher"
        )
        self._heartbeat(watcher)
        self._take_over(watcher)
        for _ in range(5):
            self.now += timedelta(seconds=3)
            self._heartbeat(watcher)
            self._take_over(watcher)
        self._heartbeat(sleeper)
        self._claim(sleeper, self.free(sleeper))

    def claim(self, data) -> None:
        """What the engine does when an attempt ended: claim only."""
        name = self._engine(data)
        self._claim(name, self.free(name))

    # -- the engine's calls, each checked against what it must do --------------------------

    def _heartbeat(self, name: str) -> None:
        scheduling.heartbeat(name, "host", 1, self.now)
        engine = self.engines[name]
        engine.beat, engine.registered = next(self.beats), True
        self._after("heartbeat")

    def _configure(self) -> None:
        for run_id in scheduling.pending_runs():
            assert not apply_configuration(run_id, self.now).already_applied
        self._after("configure")

    def _promote(self) -> None:
        due = {
            d
            for d, r in self.before.items()
            if (r["state"] == "scheduled" and r["scheduled_at"] <= self.now)
            or (r["state"] == "retrying" and r["next_attempt_at"] <= self.now)
        }
        assert set(scheduling.promote_due(self.now)) == due
        self._after("promote")

    def _take_over(self, name: str) -> None:
        watcher = self.engines[name]
        # the beat of each engine the watcher sees: those with a row, and those without one
        # that hold running deployments (-1: "no row")
        beats = {other: engine.beat for other, engine in self.engines.items() if engine.registered}
        for r in self.before.values():
            if r["state"] == "running":
                beats.setdefault(r["claimed_by"], -1)
        if watcher.last_look is not None:
            pause = (self.now - watcher.last_look).total_seconds()
            watcher.watched += min(pause, STALE_AFTER.total_seconds() / 4)
        watcher.last_look = self.now
        looked: dict[str, tuple[int, float]] = {}
        silent: set[str] = set()
        for other, beat in beats.items():
            if other == name:
                continue
            before = watcher.looked.get(other)
            looked[other] = before if before and before[0] == beat else (beat, watcher.watched)
            if watcher.watched - looked[other][1] >= STALE_AFTER.total_seconds():
                silent.add(other)
        watcher.looked = looked
        expected = {
            d
            for d, r in self.before.items()
            if r["state"] == "running" and r["claimed_by"] in silent
        }
        taken = scheduling.requeue_interrupted(self.now, watcher.watch)
        for other in silent:
            self.engines[other].registered = False
        assert set(taken) == expected
        after = rows()
        later = self._carried_by_later(set(taken))
        for d in taken:  # the administrator's cancel sticks: those wait to ask the device to
            # stop; the rest run again, unless a later run's deployment waits for the device
            stopping = bool(self.before[d]["cancel_requested"])
            ended = d in later and not stopping
            assert after[d]["state"] == ("cancelled" if ended else "queued")
            assert bool(after[d]["cancel_requested"]) == stopping
            self.stale.append(self.current.pop(d))
        self._after("take over")

    def _claim(self, name: str, limit: int) -> None:
        busy = {r["device"] for r in self.before.values() if r["state"] == "running"}
        oldest: dict[int, int] = {}
        for d, r in sorted(self.before.items()):
            if r["state"] == "queued" and r["device"] not in busy:
                oldest.setdefault(r["device"], d)
        jobs = scheduling.claim(name, self.now, limit)
        assert [job.id for job in jobs] == sorted(oldest.values())[:limit]
        for job in jobs:
            assert job.id not in self.current, f"claimed {job.id}, which another job holds"
            assert (job.instance, job.attempt) == (name, self.before[job.id]["attempts"] + 1)
            self.current[job.id] = job
        self._after("claim")

    # -- the end of an attempt, as its worker reports it -----------------------------------

    def end_attempt(self, data) -> None:
        job = self._job(data)
        cancel = bool(self.before[job.id]["cancel_requested"])
        hows = ["fail", "succeed", "fail permanently", "cancelled", "interrupt"]
        if cancel:  # the device did not confirm the cancel, when quitting or not
            hows += ["unconfirmed", "interrupt unconfirmed"]
        how = data.draw(st.sampled_from(hows), label="report")
        max_attempts = data.draw(st.sampled_from([3, 1, 2]), label="max_attempts")
        holds = self.current.get(job.id) is job
        now, device = self.now, job.device
        if how == "succeed":
            changed = attempts.succeed(job, now, f"deployed to {device}", [])
            expected = "succeeded"
        elif how.startswith("fail"):
            transient = how == "fail"
            error = f"{device} unreachable" if transient else f"{device} rejected the configuration"
            changed = attempts.fail(
                job,
                now,
                error,
                transient=transient,
                max_attempts=max_attempts,
                backoff=BACKOFF,
                events=[],
            )
            expected = "retrying" if transient and job.attempt < max_attempts else "failed"
            if expected == "retrying" and cancel:
                expected = "cancelled"  # the administrator's cancel sticks
        elif how == "cancelled":
            changed = attempts.cancelled(job, now, HOW, [])
            expected = "cancelled"
        elif how == "unconfirmed":
            why = _UNCONFIRMED.replace("{device}", device)
            changed = attempts.cancel_unconfirmed(job, now, why, BACKOFF, [])
            given_up = job.cancelling and job.attempt >= attempts.CANCEL_TRIES
            expected = "failed" if given_up else "retrying"
        elif how == "interrupt unconfirmed":
            changed = attempts.interrupt(job, now, [], None)
            expected = "queued"
        else:
            changed = attempts.interrupt(job, now, [], HOW)
            expected = "cancelled" if cancel else "queued"
        stops = how.endswith("unconfirmed") and cancel
        if expected in WAITING and not stops and self._carried_by_later({job.id}):
            expected = "cancelled"  # superseded: a later run's deployment waits for the device
        after = row(job.id)
        if holds:
            assert after["state"] == expected
            del self.current[job.id]
        elif after != self.before[job.id]:
            raise AssertionError(f"a report of a job without its claim changed {job.id}")
        else:
            self.stale = [j for j in self.stale if j is not job]
        assert changed == (expected if holds else None)
        self._after(how.split()[0])

    def report_progress(self, data) -> None:
        """One batch of the engine's writer: progress of one to three attempts, held or not."""
        jobs = {}
        for _ in range(data.draw(st.integers(1, 3), label="reports")):
            job = self._job(data)
            jobs[job.id, job.claim] = job
        reports = []
        for job in jobs.values():
            percent = data.draw(st.integers(0, 100), label="percent")
            event = Event.info(self.now, f"installing: {percent} %")
            reports.append(attempts.ProgressReport(job, "installing", percent, [event]))
        answers = attempts.report_progress(reports, self.now)
        holding = {r.job.id for r in reports if self.current.get(r.job.id) is r.job}
        for report, asked in zip(reports, answers, strict=True):
            job = report.job
            after, before = row(job.id), self.before[job.id]
            if self.current.get(job.id) is job:
                assert (after["state"], after["phase"], after["progress"]) == (
                    "running",
                    "installing",
                    report.percent,
                )
                requested = after["cancel_requested"]
                assert asked is (Reported.CANCEL_REQUESTED if requested else Reported.HELD)
            else:
                assert asked is Reported.CLAIM_LOST
                if job.id not in holding:  # else the row shows the holder's report (above)
                    assert after == before, f"a report without the claim changed {job.id}"
        self._after("progress")

    # -- the administrator -----------------------------------------------------------------

    def administrator(self, data) -> None:
        ids = self._ids(data)
        action = data.draw(
            st.sampled_from(["cancel", "retry", "deploy now", "reschedule"]), label="action"
        )
        minutes = data.draw(st.sampled_from([-5, 0, 5, 60]), label="minutes from now")
        states = {d: self.before[d]["state"] for d in ids}
        stopping = {d for d in ids if self.before[d]["cancel_requested"]}
        if action == "cancel":
            stopped, asked = actions.cancel(ids, self.now)
            waiting = {d for d, s in states.items() if s in WAITING}
            assert set(stopped) == waiting - stopping
            assert set(asked) == {d for d, s in states.items() if s == "running"} | (
                waiting & stopping
            )
            self.cancel_asked |= set(asked)
        elif action == "retry":
            self.retried = set(actions.retry(ids, self.now))
            ended = {d for d, s in states.items() if s in ("failed", "cancelled")}
            assert self.retried == ended - self._carried_by_later(ended)
            self.cancel_asked -= self.retried
        elif action == "deploy now":
            moved = set(actions.deploy_now(ids, self.now))
            assert moved == {d for d, s in states.items() if s in ("scheduled", "retrying")}
            self.cancel_asked -= moved
        elif minutes <= 0:
            with pytest.raises(RunError, match="in the past"):
                actions.reschedule(ids, self.now + timedelta(minutes=minutes), self.now)
        else:
            moved = set(actions.reschedule(ids, self.now + timedelta(minutes=minutes), self.now))
            ended = {d for d, s in states.items() if s in ("failed", "cancelled")}
            waiting = {d for d, s in states.items() if s in WAITING} - stopping
            assert moved == waiting | (ended - self._carried_by_later(ended))
            self.cancel_asked -= moved
        self._after(action)

    def _carried_by_later(self, candidates: set[int]) -> set[int]:
        """Of ended `candidates` asked to wait again, those that may not: their device has a
        later run's deployment that waits, or is a candidate too."""
        rows_ = self.before
        return {
            d
            for d in candidates
            for e, r in rows_.items()
            if r["device"] == rows_[d]["device"]
            and r["run"] > rows_[d]["run"]
            and ((r["state"] in WAITING and not r["cancel_requested"]) or e in candidates)
        }

    # -- after every call ------------------------------------------------------------------

    def _after(self, action: str) -> None:
        """Check the invariants over what the call `action` just did (module docstring)."""
        self.action = action
        after = rows()
        written: dict[int, list[str]] = defaultdict(list)
        events = events_since(self.seen)
        for _, d, message in events:
            written[d].append(message)
        # 1. one running deployment per device, held by the job that claimed it last
        running = [r["device"] for r in after.values() if r["state"] == "running"]
        assert len(running) == len(set(running)), "two deployments run on one device"
        for d, r in after.items():
            if r["state"] == "running":
                job = self.current.get(d)
                assert job is not None, f"{d} runs without a job holding it"
                assert (r["claimed_by"], r["attempts"], r["claim"]) == (
                    job.instance,
                    job.attempt,
                    job.claim,
                )
        assert all(after[d]["state"] == "running" for d in self.current)
        changed = set()
        for d, r in after.items():
            old = self.before.get(d)
            if old != r:
                changed.add(d)
            s0, s1 = (old["state"] if old else None), r["state"]
            a0, a1 = (old["attempts"] if old else 0), r["attempts"]
            # 2. attempts
            if s0 != "running" and s1 == "running":
                assert a1 == a0 + 1, f"{d}: attempts {a0} → {a1} when an attempt started"
            elif (
                s0 == "running"
                and s1 == "queued"
                and self.action == "take over"
                and r["cancel_requested"]
            ):
                assert a1 == 0, f"{d}: attempts {a0} → {a1}, waiting to ask the device to stop"
            elif s0 == "running" and s1 == "queued":
                assert a0 >= 1 and a1 == a0 - 1, f"{d}: attempts {a0} → {a1}, given back"
            elif s0 == "running" and s1 == "retrying" and self.action == "unconfirmed":
                assert a1 in (0, a0), f"{d}: attempts {a0} → {a1}, asking the device to stop"
            elif self.action == "retry" and d in self.retried:
                assert a1 == 0, f"{d}: attempts {a1} after retry"
            else:
                assert a1 == a0, f"{d}: attempts {a0} → {a1} on {self.action} ({s0} → {s1})"
            # 3. final states
            if s0 in FINAL and s1 != s0:
                assert (s0, self.action, s1) in {
                    ("failed", "retry", "queued"),
                    ("cancelled", "retry", "queued"),
                    ("failed", "reschedule", "scheduled"),
                    ("cancelled", "reschedule", "scheduled"),
                }, f"{d}: {s0} → {s1} by {self.action}"
            # 4. allowed transitions, each with its event
            if s1 != s0:
                assert (s0, s1) in TRANSITIONS, f"{d}: {s0} → {s1} by {self.action}"
                actors, template = TRANSITIONS[(s0, s1)]
                assert self.action in actors, f"{d}: {s0} → {s1} by {self.action}"
                device = self.devices[r["device"]]
                pattern = _pattern(template, attempts=a1, next=a1 + 1, device=device)
                assert any(re.fullmatch(pattern, m) for m in written[d]), (
                    f"{d}: {s0} → {s1} by {self.action}, events {written[d]}"
                )
            # 6. the administrator's cancel of a running deployment sticks
            assert not (
                d in self.cancel_asked and s0 != s1 == "running" and not r["cancel_requested"]
            ), f"{d} deploys again after it was cancelled while running"
            if s1 in FINAL:
                self.cancel_asked.discard(d)
        # 7. one waiting deployment per device
        waiting = [
            r["device"]
            for r in after.values()
            if r["state"] in WAITING and not r["cancel_requested"]
        ]
        assert len(waiting) == len(set(waiting)), f"two deployments wait on one device: {after}"
        # 5. events only for changed rows (a rejected report writes none)
        silent = set(written) - changed
        assert not silent, f"events without a change: {dict(written)}"
        self.before, self.seen = after, events[-1][0] if events else self.seen
        self.retried = set()

    @invariant()
    def nothing_changed_between_calls(self):
        """Every change was made by a checked call: none is left to find after a step."""
        assert rows() == self.before and last_event_id() == self.seen


def _has_jobs(machine: DeploymentMachine) -> bool:
    return bool(machine.current or machine.stale)


def _sleeper_and_watcher(machine: DeploymentMachine) -> bool:
    live = set(machine.live())
    return len(live) >= 2 and any(job.instance in live for job in machine.current.values())


# (method, weight, when it applies)
MOVES = [
    ("engine_step", 4, lambda m: m.live()),
    ("advance", 3, lambda m: True),
    ("end_attempt", 3, _has_jobs),
    ("approve", 2, lambda m: m.version < VERSIONS and m.open() < 6),
    ("administrator", 2, lambda m: m.before),
    ("claim", 1, lambda m: m.live()),
    ("suspended", 2, _sleeper_and_watcher),
    ("report_progress", 2, _has_jobs),
    ("engine_dies", 1, lambda m: m.live()),
    ("start_engine", 1, lambda m: len(m.live()) < 2),
    ("engine_resumes", 1, lambda m: len(m.live()) < len(m.engines)),
]
_DATABASES = itertools.count()

# No shrinking: minimising a failing run of this machine takes Hypothesis minutes (its cap is
# 5 min; the suite's per-test timeout is 2). A failure prints its whole run, at most 40 steps;
# add Phase.shrink to `phases` locally to minimise one.
SETTINGS = settings(
    max_examples=80,
    stateful_step_count=40,
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
)


@pytest.fixture
def template(tmp_path):
    """A database with the fleet loaded, closed: each example starts from a copy."""
    path = tmp_path / "template.sqlite3"
    open_database(str(path))
    load_fleet()
    close_database()
    db_proxy.initialize(None)
    return path


def test_deployment_state_machine_keeps_its_invariants(template):
    """Random sequences of every move keep the module docstring's invariants."""
    run_state_machine_as_test(lambda: DeploymentMachine(template), settings=SETTINGS)
