"""What an administrator decides about a whole run: pause, resume, abort, start the next wave
now. Each is stored on the run once, with who and when (DESIGN.md, "Fleet safety"), and is
conditional on the run's state, so asking twice changes it once: the answer says what happened
in words, either way. Each leaves one audit entry in its transaction: done, or refused with that
message when it changed nothing (docs/audit.md). Call them through the engine (`Engine.pause` …),
which also reaches the attempts running in this process (abort) and starts what opened at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from appupdater.core import audit, rollout
from appupdater.core.events import Event, log_events
from appupdater.core.words import plural
from appupdater.errors import RunError
from appupdater.store.db import writing
from appupdater.store.models import Deployment, DeploymentState, UpdateRun
from appupdater.store.revisions import stamped
from appupdater.store.rows import returned

S = DeploymentState


@dataclass(frozen=True)
class Decision:
    """What a decision did: `changed` False when the run was already as asked (or the decision
    does not apply to it), and `message` says so in words."""

    changed: bool
    message: str
    cancelled: list[int] = field(default_factory=list)  # abort: waiting ones, now cancelled
    asked_to_stop: list[int] = field(default_factory=list)  # abort: running ones


def _run(run_id: int) -> UpdateRun:
    run = UpdateRun.get_or_none(UpdateRun.id == run_id)
    if run is None:
        raise RunError(f"there is no run #{run_id}")
    return run


def _has_open(run: UpdateRun) -> bool:
    """Whether the run has work that has not ended (one not yet configured has it all)."""
    run_id = run.id
    return run.configured_at is None or bool(
        Deployment.select(Deployment.id)
        .where((Deployment.run == run_id) & Deployment.state.not_in(list(rollout.FINISHED)))
        .limit(1)
        .exists()
    )


def _audited(
    action: str, run_id: int, decision: Decision, now: datetime, note: str = ""
) -> Decision:
    """Record `decision` (inside its transaction) and return it."""
    outcome = audit.DONE if decision.changed else audit.refused(decision.message)
    audit.record(
        action, objects={"runs": [run_id]}, run=run_id, note=note, outcome=outcome, now=now
    )
    return decision


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone():%Y-%m-%d %H:%M}" if moment else "?"


def pause(run_id: int, by: str, now: datetime, reason: str = "") -> Decision:
    """Nothing new of the run starts until it is resumed; running deployments finish."""
    note = reason.strip()
    with audit.refusing(audit.PAUSE, objects={"runs": [run_id]}, note=note, now=now), writing():
        return _audited(audit.PAUSE, run_id, _pause(_run(run_id), by, now, reason), now, note)


def _pause(run: UpdateRun, by: str, now: datetime, reason: str) -> Decision:
    run_id = run.id
    if run.aborted_at is not None:
        return Decision(False, f"run #{run_id} was aborted: there is nothing to pause")
    if run.paused_at is not None:
        return Decision(
            False,
            f"run #{run_id} is already paused (by {run.paused_by}, "
            f"{_when(run.paused_at)}: {run.pause_reason})",
        )
    if not _has_open(run):
        return Decision(False, f"run #{run_id} has ended: there is nothing to pause")
    why = reason.strip() or f"paused by {by}"
    UpdateRun.update(paused_at=now, paused_by=by, pause_reason=why).where(
        (UpdateRun.id == run_id) & UpdateRun.paused_at.is_null()
    ).execute()
    return Decision(True, f"run #{run_id} paused: nothing new of it starts until it is resumed")


def resume(run_id: int, by: str, now: datetime) -> Decision:
    """The run goes on; the failures it has now are accepted (the limit pauses it again when
    more fail)."""
    with audit.refusing(audit.RESUME, objects={"runs": [run_id]}, now=now), writing():
        return _audited(audit.RESUME, run_id, _resume(_run(run_id), by, now), now)


def _resume(run: UpdateRun, by: str, now: datetime) -> Decision:
    run_id = run.id
    if run.aborted_at is not None:
        return Decision(
            False,
            f"run #{run_id} was aborted (by {run.aborted_by}, {_when(run.aborted_at)}): it "
            "cannot be resumed; plan a new run",
        )
    if run.paused_at is None:
        return Decision(False, f"run #{run_id} is not paused")
    accepted = rollout.tally(run_id).failed
    UpdateRun.update(
        paused_at=None,
        paused_by=None,
        pause_reason=None,
        resumed_at=now,
        resumed_by=by,
        accepted_failures=accepted,
    ).where((UpdateRun.id == run_id) & UpdateRun.paused_at.is_null(False)).execute()
    return Decision(True, f"run #{run_id} resumed")


def abort(run_id: int, by: str, now: datetime) -> Decision:
    """Cancel everything of the run that has not finished: waiting deployments at once,
    running ones are asked to stop."""
    with audit.refusing(audit.ABORT, objects={"runs": [run_id]}, now=now), writing():
        decision = _abort(_run(run_id), by, now)
        note = ""
        if decision.changed:
            note = f"{plural(len(decision.cancelled), 'deployment')} cancelled"
            if decision.asked_to_stop:
                note += (
                    f", {plural(len(decision.asked_to_stop), 'running deployment')} asked to stop"
                )
        return _audited(audit.ABORT, run_id, decision, now, note)


def _abort(run: UpdateRun, by: str, now: datetime) -> Decision:
    run_id = run.id
    if run.aborted_at is not None:
        return Decision(
            False,
            f"run #{run_id} was already aborted (by {run.aborted_by}, {_when(run.aborted_at)})",
        )
    if not _has_open(run):
        return Decision(False, f"run #{run_id} has ended: there is nothing to abort")
    UpdateRun.update(aborted_at=now, aborted_by=by).where(
        (UpdateRun.id == run_id) & UpdateRun.aborted_at.is_null()
    ).execute()
    cancelled = rollout.cancel_waiting(run_id, now, f"cancelled: run aborted by {by}")
    asked = [
        d
        for (d,) in returned(
            Deployment.update(cancel_requested=True, **stamped(now))
            .where((Deployment.run == run_id) & (Deployment.state == S.RUNNING))
            .returning(Deployment.id),
            tuple[int],
        )
    ]
    log_events(
        (d, Event.info(now, f"run aborted by {by}; asking the device to stop")) for d in asked
    )
    return Decision(True, f"run #{run_id} aborted", sorted(cancelled), sorted(asked))


def next_wave(run_id: int, by: str, now: datetime) -> Decision:
    """Open the run's next wave now, without waiting for the wave before it or the soak."""
    with audit.refusing(audit.NEXT_WAVE, objects={"runs": [run_id]}, now=now), writing():
        return _audited(audit.NEXT_WAVE, run_id, _next_wave(_run(run_id), by, now), now)


def _next_wave(run: UpdateRun, by: str, now: datetime) -> Decision:
    run_id = run.id
    if run.aborted_at is not None:
        return Decision(False, f"run #{run_id} was aborted: it has no next wave")
    if run.paused_at is not None:
        return Decision(False, f"run #{run_id} is paused: resume it first")
    wave = run.open_wave or 0
    opened = rollout.open_next(run_id, wave, now, f"started early by {by}, soak time skipped")
    if opened is None:
        return Decision(False, f"run #{run_id} has no wave left to start")
    total = len(rollout.wave_sizes(run.strategy))
    return Decision(True, f"run #{run_id}: wave {opened} of {total} started")
