"""What an administrator asks of deployments: cancel, retry, deploy now, reschedule.

Each is one conditional update on the states it applies to, with an event per deployment it
changed and one audit entry naming the deployments it changed (and how many it skipped), in one
transaction; deployments in other states are left as they are. When it changes none, the entry
says it was refused, and why (docs/audit.md). Call them through the engine (`Engine.cancel` …),
which also reaches attempts running in this process."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from appupdater.core import audit
from appupdater.core.events import Event, log_events
from appupdater.core.pending import make_room
from appupdater.core.words import plural
from appupdater.errors import RunError
from appupdater.store.db import writing
from appupdater.store.models import WAITING_STATES, Deployment, DeploymentState, UpdateRun
from appupdater.store.revisions import stamped
from appupdater.store.rows import returned, tuples

S = DeploymentState
# the states each action applies to (a window offers an action only for these)
CANCELLABLE = (*WAITING_STATES, S.RUNNING)
RETRYABLE = (S.FAILED, S.CANCELLED)
DEPLOYABLE_NOW = (S.SCHEDULED, S.RETRYING)
RESCHEDULABLE = (*WAITING_STATES, S.FAILED, S.CANCELLED)


def _change(
    ids: Iterable[int],
    now: datetime,
    allowed: tuple[DeploymentState, ...],
    message: str,
    *,
    waits_again: bool = False,
    stopping_too: bool = True,
    **values: object,
) -> list[int]:
    """With `waits_again`, ended deployments that would wait again keep the rule of one
    waiting deployment per device (see pending.py): one whose device waits for a later run's
    deployment is left as it is. Without `stopping_too`, waiting deployments that only ask
    their device to stop (core/attempts.py `cancel_unconfirmed`) are left as they are."""
    ids = list(ids)
    stamp = stamped(now)
    if waits_again:
        ended = Deployment.select(Deployment.id).where(
            Deployment.id.in_(ids) & Deployment.state.in_(list(RETRYABLE))
        )
        ended_ids = [d for (d,) in tuples(ended, tuple[int])]
        _, blocked = make_room(ended_ids, now, stamp)
        ids = [d for d in ids if d not in blocked]
    where = Deployment.id.in_(ids) & Deployment.state.in_(list(allowed))
    if not stopping_too:
        where &= ~Deployment.cancel_requested
    query = Deployment.update(**values, **stamp).where(where).returning(Deployment.id)
    changed = [d for (d,) in returned(query, tuple[int])]
    log_events((d, Event.info(now, message)) for d in changed)
    return changed


def _audit(
    action: str, asked: list[int], changed: list[int], now: datetime, why_not: str, note: str = ""
) -> None:
    """One entry for an administrator's action on `asked` deployments (in its transaction):
    done, naming those it `changed` and saying how many it skipped; or refused when it changed
    none, naming them all."""
    asked = sorted(set(asked))
    objects, run = audit.deployment_objects(changed or asked)
    if not changed:
        why = f"nothing to {action}: {_selected(len(asked))} {why_not}"
        audit.record(
            action, objects=objects, run=run, note=note, outcome=audit.refused(why), now=now
        )
        return
    skipped = len(asked) - len(set(changed))
    if skipped:
        they = "it" if skipped == 1 else "they"
        left = f"{plural(skipped, 'other deployment')} skipped ({they} {why_not})"
        note = f"{note}; {left}" if note else left
    audit.record(action, objects=objects, run=run, note=note, now=now)


ABORTED = "had their run aborted: an aborted run starts nothing again"


def _of_live_runs(ids: list[int]) -> tuple[list[int], str]:
    """Of `ids`, those whose run was not aborted (retry, deploy now and reschedule would leave
    the others waiting for good: an aborted run starts nothing); with a note on those left out
    ("" when none)."""
    aborted = {
        d
        for (d,) in tuples(
            Deployment.select(Deployment.id)
            .join(UpdateRun, on=UpdateRun.id == Deployment.run)
            .where(Deployment.id.in_(ids) & UpdateRun.aborted_at.is_null(False)),
            tuple[int],
        )
    }
    if not aborted:
        return ids, ""
    they = "it" if len(aborted) == 1 else "they"
    return [d for d in ids if d not in aborted], (
        f"{plural(len(aborted), 'deployment')} of an aborted run left as {they} "
        f"{'is' if len(aborted) == 1 else 'are'}"
    )


def _selected(count: int) -> str:
    return "the selected deployment" if count == 1 else f"the {count} selected deployments"


def cancel(ids: Iterable[int], now: datetime) -> tuple[list[int], list[int]]:
    """Cancel waiting deployments at once; ask running ones to stop. Returns (cancelled,
    asked to stop) — those already waiting to ask their device again are among the asked."""
    ids = list(ids)
    with writing():
        stopped = _change(
            ids,
            now,
            WAITING_STATES,
            "cancelled by the administrator",
            stopping_too=False,
            state=S.CANCELLED,
            finished_at=now,
            next_attempt_at=None,
        )
        asked = _change(
            ids,
            now,
            (S.RUNNING,),
            "cancel requested; asking the device to stop",
            cancel_requested=True,
        )
        still = Deployment.select(Deployment.id).where(
            Deployment.id.in_(ids)
            & Deployment.state.in_(list(WAITING_STATES))
            & Deployment.cancel_requested
        )
        asking = [d for (d,) in tuples(still, tuple[int])]
        notes = [f"{plural(len(asked), 'running deployment')} asked to stop"] if asked else []
        if asking:
            notes.append(f"{plural(len(asking), 'deployment')} already asking the device to stop")
        changed = stopped + asked + asking
        _audit(audit.CANCEL, ids, changed, now, "had already finished", "; ".join(notes))
    return stopped, asked + asking


def retry(ids: Iterable[int], now: datetime) -> list[int]:
    """A failed or cancelled deployment is queued again, with a fresh count of attempts
    (not one whose device waits for a later run's deployment: that one carries it all)."""
    ids = list(ids)
    with writing():
        live, note = _of_live_runs(ids)
        changed = _change(
            live,
            now,
            RETRYABLE,
            "retry requested; queued",
            waits_again=True,
            state=S.QUEUED,
            attempts=0,
            finished_at=None,
            last_message="",
            next_attempt_at=None,
        )
        why_not = ABORTED if not live else "had not failed or been cancelled"
        _audit(audit.RETRY, ids, changed, now, why_not, note)
    return changed


def deploy_now(ids: Iterable[int], now: datetime) -> list[int]:
    """A scheduled (or retrying) deployment starts without waiting for its time — not one of
    an aborted run, unless it only asks its device to stop (that one asks now)."""
    ids = list(ids)
    with writing():
        live, note = _of_live_runs(ids)
        stopping = Deployment.select(Deployment.id).where(
            Deployment.id.in_(ids) & Deployment.cancel_requested
        )
        live += [d for (d,) in tuples(stopping, tuple[int]) if d not in live]
        changed = _change(
            live,
            now,
            DEPLOYABLE_NOW,
            "deploy now requested; queued",
            state=S.QUEUED,
            next_attempt_at=None,
        )
        why_not = ABORTED if not live else "had stopped waiting"
        _audit(audit.DEPLOY_NOW, ids, changed, now, why_not, note)
    return changed


def reschedule(ids: Iterable[int], at: datetime, now: datetime) -> list[int]:
    """Move waiting, failed or cancelled deployments to a new (future) time."""
    ids = list(ids)
    when = f"for {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if at <= now:
        why = f"the new time {at.isoformat(timespec='minutes')} is in the past"
        objects, run = audit.deployment_objects(ids)
        audit.record_refusal(audit.RESCHEDULE, why, objects=objects, run=run, note=when, now=now)
        raise RunError(why)
    with writing():
        live, note = _of_live_runs(ids)
        changed = _change(
            live,
            now,
            RESCHEDULABLE,
            f"rescheduled {when}",
            waits_again=True,
            stopping_too=False,  # a cancel its device did not confirm is not put off
            state=S.SCHEDULED,
            scheduled_at=at,
            finished_at=None,
            next_attempt_at=None,
        )
        why_not = ABORTED if not live else "had started or succeeded meanwhile"
        _audit(audit.RESCHEDULE, ids, changed, now, why_not, f"{when}; {note}" if note else when)
    return changed
