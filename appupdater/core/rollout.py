"""A run in waves as the dispatcher drives it: the failure limit pauses the run, and a held wave
opens when the wave before it has finished, within the limit, and the soak time has passed.

The rules (docs/waves.md): a deployment has *finished* when it succeeded, failed or was
cancelled. The limit counts the run's deployments that succeeded or failed (scheduled ones
included; cancelled ones say nothing about the version) and applies once at least min(5, size
of the open wave) of them have; failures the administrator accepted by resuming do not pause the
run again, a new one does. A paused run starts nothing new: `startable` keeps claim and promote
away from its deployments (engine/scheduling.py), in every process, since it is read from the
run's row at each step.

Every change is conditional on what it expects (the open wave, the run not paused), so two
engines that take the same step change the run once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import peewee

from appupdater.core.events import Event, log_events
from appupdater.core.waves import limit_crossed
from appupdater.heap import gc_paused
from appupdater.store.db import writing
from appupdater.store.models import (
    OPEN_STATES,
    WAITING_STATES,
    Deployment,
    DeploymentState,
    Target,
    UpdateRun,
)
from appupdater.store.revisions import stamped
from appupdater.store.rows import returned, scalar, sql_rows, tuples

S = DeploymentState
FINISHED = (S.SUCCEEDED, S.FAILED, S.CANCELLED)
LIMIT = "failure limit"  # who pauses a run when its failures cross the limit


def startable() -> peewee.Node:
    """Deployments whose run is neither paused nor aborted: what claim and promote may start
    (an aborted run's waiting deployments are cancelled; this keeps any that were not) — and,
    in any run, those whose attempt only asks the device to stop one it did not confirm
    stopping (core/attempts.py `cancel_unconfirmed`): a brake is never held."""
    paused = UpdateRun.select(UpdateRun.id).where(
        (UpdateRun.id == Deployment.run)
        & (UpdateRun.paused_at.is_null(False) | UpdateRun.aborted_at.is_null(False))
    )
    not_paused: peewee.Node = peewee.fn.NOT(peewee.fn.EXISTS(paused))
    return not_paused | (Deployment.cancel_requested == True)  # noqa: E712 (SQL)


@dataclass(frozen=True)
class Tally:
    """A run's finished deployments, as the failure limit counts them."""

    succeeded: int
    failed: int

    @property
    def counted(self) -> int:
        return self.succeeded + self.failed


def tally(run_id: int) -> Tally:
    query = (
        Deployment.select(Deployment.state, peewee.fn.COUNT(Deployment.id))
        .where((Deployment.run == run_id) & Deployment.state.in_([S.SUCCEEDED, S.FAILED]))
        .group_by(Deployment.state)
    )
    counts = dict(tuples(query, tuple[str, int]))
    return Tally(counts.get(S.SUCCEEDED, 0), counts.get(S.FAILED, 0))


def wave_sizes(strategy: dict[str, Any] | None) -> list[int]:
    return [int(n) for n in (strategy or {}).get("waves", [])]


def breach(run: UpdateRun) -> str | None:
    """Why `run` must pause now ("2 of 5 failed in wave 1, limit 10 %"), or None."""
    strategy = run.strategy
    if strategy is None:
        return None
    counts = tally(run.id)
    if counts.failed <= run.accepted_failures:
        return None
    sizes = wave_sizes(strategy)
    wave = run.open_wave or 1
    size = sizes[wave - 1] if 0 < wave <= len(sizes) else counts.counted
    limit = float(strategy["max_failures_percent"])
    if not limit_crossed(counts.failed, counts.counted, size, limit):
        return None
    return f"{counts.failed} of {counts.counted} failed in wave {wave}, limit {limit:g} %"


def _active_runs() -> peewee.ModelSelect[UpdateRun]:
    """Runs in waves, configured, neither paused nor aborted."""
    return UpdateRun.select().where(
        UpdateRun.strategy.is_null(False)
        & UpdateRun.configured_at.is_null(False)
        & UpdateRun.paused_at.is_null()
        & UpdateRun.aborted_at.is_null()
    )


def _with(states: tuple[DeploymentState, ...]) -> peewee.Node:
    waiting = Deployment.select(Deployment.id).where(
        (Deployment.run == UpdateRun.id) & Deployment.state.in_(list(states))
    )
    return peewee.fn.EXISTS(waiting)


def check_limits(now: datetime) -> list[tuple[int, str]]:
    """Pause each run in waves whose failures crossed its limit while it still has work that
    has not ended; returns (run id, reason) of those this call paused."""
    paused = []
    for run in list(_active_runs().where(_with(OPEN_STATES))):
        reason = breach(run)
        if reason is None:
            continue
        with writing():
            changed = (
                UpdateRun.update(paused_at=now, paused_by=LIMIT, pause_reason=reason)
                .where((UpdateRun.id == run.id) & UpdateRun.paused_at.is_null())
                .execute()
            )
        if changed:
            paused.append((run.id, reason))
    return paused


def open_due_waves(now: datetime) -> list[tuple[int, int]]:
    """Open the next wave of each run whose open wave has finished, within the limit, and
    whose soak time has passed; returns (run id, wave) of those opened."""
    opened = []
    for run in list(_active_runs().where(_with((S.HELD,)))):
        wave = run.open_wave or 0
        unfinished = Deployment.select(Deployment.id).where(
            (Deployment.run == run.id)
            & (Deployment.wave <= wave)
            & Deployment.state.not_in(list(FINISHED))
        )
        if unfinished.limit(1).exists() or breach(run) is not None:
            continue
        ends_at = finished_at(run.id, wave)
        soak = timedelta(minutes=float(run.strategy["soak_minutes"]))
        if ends_at is not None and now < ends_at + soak:
            continue
        number = open_next(run.id, wave, now, "its wave before finished" + _soaked(soak))
        if number is not None:
            opened.append((run.id, number))
    return opened


def _soaked(soak: timedelta) -> str:
    minutes = soak.total_seconds() / 60
    return f" and the soak time of {minutes:g} min passed" if minutes else ""


def finished_at(run_id: int, wave: int) -> datetime | None:
    """When the last deployment of `wave` of the run finished (None: it had none)."""
    query = Deployment.select(peewee.fn.MAX(Deployment.finished_at)).where(
        (Deployment.run == run_id) & (Deployment.wave == wave)
    )
    value = scalar(query, str)
    return Deployment.finished_at.python_value(value) if value is not None else None


def open_next(run_id: int, wave: int, now: datetime, why: str) -> int | None:
    """Open the run's next held wave after `wave` (queue its deployments), if the run's open
    wave is still `wave` and it is not paused or aborted; returns the wave opened."""
    with writing():
        following = scalar(
            Deployment.select(peewee.fn.MIN(Deployment.wave)).where(
                (Deployment.run == run_id) & (Deployment.state == S.HELD)
            ),
            int,
        )
        if following is None:
            return None
        moved = (
            UpdateRun.update(open_wave=following, wave_opened_at=now)
            .where(
                (UpdateRun.id == run_id)
                & (UpdateRun.open_wave == wave)
                & UpdateRun.paused_at.is_null()
                & UpdateRun.aborted_at.is_null()
            )
            .execute()
        )
        if not moved:
            return None
        query = (
            Deployment.update(state=S.QUEUED, **stamped(now))
            .where(
                (Deployment.run == run_id)
                & (Deployment.wave == following)
                & (Deployment.state == S.HELD)
            )
            .returning(Deployment.id)
        )
        ids = [d for (d,) in returned(query, tuple[int])]
        message = f"wave {following} opened ({why}); queued"
        log_events((d, Event.info(now, message)) for d in ids)
    return following


@dataclass(frozen=True)
class WaveProgress:
    """Where a run in waves is: the open wave of how many, and when the next one opens during
    a soak (None: not soaking, or all at once)."""

    current: int
    total: int
    next_at: datetime | None


def wave_progress(run: UpdateRun) -> WaveProgress | None:
    """None for a run all at once."""
    sizes = wave_sizes(run.strategy)
    if run.strategy is None or not sizes:
        return None
    wave = run.open_wave or 0
    total = len(sizes)
    next_at = None
    states = Counter(
        dict(
            tuples(
                Deployment.select(Deployment.state, peewee.fn.COUNT(Deployment.id))
                .where((Deployment.run == run.id) & (Deployment.wave <= wave))
                .group_by(Deployment.state),
                tuple[str, int],
            )
        )
    )
    held = (
        Deployment.select(Deployment.id)
        .where((Deployment.run == run.id) & (Deployment.state == S.HELD))
        .limit(1)
        .exists()
    )
    unfinished = sum(n for state, n in states.items() if state not in FINISHED)
    if held and not unfinished and run.paused_at is None and run.aborted_at is None:
        ends_at = finished_at(run.id, wave)
        if ends_at is not None:
            next_at = ends_at + timedelta(minutes=float(run.strategy["soak_minutes"]))
    return WaveProgress(wave, total, next_at)


def limit_paused() -> list[tuple[int, str]]:
    """(run id, reason) of the runs paused by their failure limit now."""
    query = UpdateRun.select(UpdateRun.id, UpdateRun.pause_reason).where(
        UpdateRun.paused_at.is_null(False) & (UpdateRun.paused_by == LIMIT)
    )
    return [(run_id, reason or "") for run_id, reason in tuples(query, tuple[int, str | None])]


@dataclass(frozen=True)
class Standing:
    """Where a run stands beyond its deployments' states, as the overview shows it: its waves
    (None: all at once) and what people decided (paused, aborted), with who."""

    waves: WaveProgress | None
    paused_by: str | None = None
    pause_reason: str | None = None
    aborted_by: str | None = None
    # the second approver (core/approvals.py): None, or the run's `approval` with who asked, until
    # when, and who decided with their note
    approval: str | None = None
    requested_by: str | None = None
    expires_at: datetime | None = None
    decided_by: str | None = None
    decision_note: str | None = None
    decided_at: datetime | None = None

    @property
    def paused(self) -> bool:
        return self.paused_by is not None

    @property
    def aborted(self) -> bool:
        return self.aborted_by is not None


def standings(run_ids: list[int]) -> dict[int, Standing]:
    """The standings of those of `run_ids` that are in waves, paused, aborted or asked a second
    approver (one query by
    the runs' ids; a few more per run in waves that has not ended). Runs all at once that no
    one paused or aborted have none: most of the history."""
    if not run_ids:
        return {}
    query = UpdateRun.select().where(
        UpdateRun.id.in_(run_ids)
        & (
            UpdateRun.strategy.is_null(False)
            | UpdateRun.paused_at.is_null(False)
            | UpdateRun.aborted_at.is_null(False)
            | UpdateRun.approval.is_null(False)
        )
    )
    runs = list(query)
    in_waves = [run.id for run in runs if run.strategy is not None and run.aborted_at is None]
    holding = set()  # runs with a wave still held: only those can be soaking
    if in_waves:
        # a probe of the (run, state) index per run: a run in flight has 100,000 held
        held = UpdateRun.select(UpdateRun.id).where(UpdateRun.id.in_(in_waves) & _with((S.HELD,)))
        holding = {run for (run,) in tuples(held, tuple[int])}
    found = {}
    for run in runs:
        waves = None
        total = len(wave_sizes(run.strategy))
        if total:
            waves = (
                wave_progress(run)
                if run.id in holding
                else WaveProgress(run.open_wave or 0, total, None)
            )
        found[run.id] = Standing(
            waves,
            run.paused_by,
            run.pause_reason,
            run.aborted_by,
            run.approval,
            run.requested_by,
            run.expires_at,
            run.decided_by,
            run.decision_note,
            run.decided_at,
        )
    return found


def target_waves(run_ids: list[int]) -> dict[int, dict[int, int]]:
    """run -> device id -> wave, of the runs' devices in waves (static once a run is approved:
    read when its deployments are first shown)."""
    waves: dict[int, dict[int, int]] = {}
    if not run_ids:
        return waves
    query = Target.select(Target.run, Target.device, Target.wave).where(
        Target.run.in_(run_ids) & Target.wave.is_null(False)
    )
    sql, params = query.sql()  # raw: a run has a row per device and application (100,000)
    with gc_paused():
        for run, device, wave in sql_rows(sql, params, tuple[int, int, int]):
            devices = waves.get(run)
            if devices is None:
                devices = waves[run] = {}
            devices[device] = wave
    return waves


def cancel_waiting(run_id: int, now: datetime, why: str) -> list[int]:
    """Cancel the run's deployments that wait (queued, held, scheduled, retrying), inside the
    caller's transaction, each with the event `why`; their ids. Not those waiting to ask their
    device to stop an attempt (core/attempts.py `cancel_unconfirmed`): they go on asking."""
    cancelled = [
        d
        for (d,) in returned(
            Deployment.update(
                state=S.CANCELLED, finished_at=now, next_attempt_at=None, **stamped(now)
            )
            .where(
                (Deployment.run == run_id)
                & Deployment.state.in_(list(WAITING_STATES))
                & ~Deployment.cancel_requested  # those wait to ask their device to stop
            )
            .returning(Deployment.id),
            tuple[int],
        )
    ]
    log_events((d, Event.info(now, why)) for d in cancelled)
    return cancelled
