"""What webhooks are told, found in the database rather than in one process's memory: a run
paused by `appupdater pause` in another process notifies as surely as one the engine paused.
`detect` looks at what happened since its caller's last look and makes one `WebhookEvent` per
webhook and event key (insert-or-ignore on a unique key, so engines looking at once make one
row); `claim_due` and `finish` send each at most once, claimed as deployments are (a
conditional update on a claim number). See docs/webhooks.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee

from appupdater.core.progress import RunStatus, run_counts, run_status
from appupdater.core.status import approver_of
from appupdater.core.webhook_retention import remembered_since
from appupdater.core.webhooks import EVENT_WORDS, EventKind, Sent, encode
from appupdater.core.words import plural
from appupdater.store.db import writing
from appupdater.store.models import Approval, Deployment, DeploymentState, Device, UpdateRun
from appupdater.store.revisions import current_revision
from appupdater.store.rows import tuples
from appupdater.store.team_models import Webhook, WebhookAttempt, WebhookEvent

# waits before the 2nd, 3rd and 4th attempt; after the 4th failure the event is given up
BACKOFF = (timedelta(seconds=10), timedelta(seconds=60), timedelta(minutes=5))
MAX_ATTEMPTS = len(BACKOFF) + 1
# how far back a first look goes (an engine started after a quiet night still tells the
# morning about the night), and how far back every look reads the runs' own decisions
FIRST_LOOK = timedelta(days=1)
RUN_LOOKBACK = timedelta(days=1)
# a claimed event not finished this long after its claim: its engine stopped mid-send
STALE_SENDING = timedelta(minutes=15)


@dataclass(frozen=True)
class Occurrence:
    """Something that happened, before it is made one event per subscribed webhook."""

    kind: EventKind
    run: int
    key: str
    at: datetime
    extra: dict[str, object]


def any_webhooks() -> bool:
    """Whether any webhook is in use: without one an engine's step looks for nothing more."""
    return bool(Webhook.select(Webhook.id).where(Webhook.removed_at.is_null()).exists())


def detect(now: datetime, after: int | None) -> int:
    """Make the events of what happened since the previous look; those that exist already
    (made by an earlier look, or another engine) are left as they are. `after` is the
    deployments' revision the previous look returned (None: a first look); the revision the
    next look starts after is returned.

    No wall clock of another machine decides what is looked at: deployments are read by their
    revision (store/revisions.py: handed out in commit order), and the runs' own decisions
    (asked, approved, paused) of the last RUN_LOOKBACK by the engine's clock at every look —
    runs are few, and an approval written by a workstation whose clock is minutes behind is
    still found. The unique key of an event makes each one once; an event of a moment older
    than the history kept is not made at all (core/webhook_retention.py)."""
    top = current_revision()  # before any row is read (see store/revisions.py)
    hooks = list(Webhook.select().where(Webhook.removed_at.is_null()))
    if not hooks:
        return top
    # read them all first: a write while a read's cursor is open would find its snapshot stale
    # on SQLite (WAL) once another process wrote, and fail as "database is locked"
    found, held = occurrences(now, after)
    # a moment older than the history kept may have had its event deleted: never made again
    oldest = remembered_since(now).isoformat()
    found = [o for o in found if o.key == "" or o.key >= oldest]
    # what earlier looks (or other engines) made already: no body is built for it again. All
    # three columns named, so the lookup goes through the events' unique index, not a scan
    made = WebhookEvent.select(
        WebhookEvent.webhook, WebhookEvent.kind, WebhookEvent.run, WebhookEvent.key
    ).where(
        WebhookEvent.webhook.in_([hook.id for hook in hooks])
        & WebhookEvent.kind.in_(sorted({str(o.kind) for o in found}))
        & WebhookEvent.run.in_(sorted({o.run for o in found}))
    )
    existing = set(tuples(made, tuple[int, str, int, str])) if found else set()
    for occurrence in found:
        kind = str(occurrence.kind)
        hooks_for = [
            hook.id
            for hook in hooks
            if kind in hook.events
            and hook.created_at <= occurrence.at
            and (hook.id, kind, occurrence.run, occurrence.key) not in existing
        ]
        if not hooks_for:
            continue
        payload = body(occurrence.kind, occurrence.run, occurrence.at, occurrence.extra)
        rows = [
            {
                "webhook": hook_id,
                "kind": kind,
                "run": occurrence.run,
                "key": occurrence.key,
                "body": payload,
                "created_at": now,
                "next_attempt_at": now,
            }
            for hook_id in hooks_for
        ]
        with writing():
            WebhookEvent.insert_many(rows).on_conflict_ignore().execute()
    return top if held is None else min(top, held)


def occurrences(now: datetime, after: int | None) -> tuple[list[Occurrence], int | None]:
    """What happened: the runs' decisions of the last RUN_LOOKBACK, and what the deployments
    changed after revision `after` (None: those that ended in the last FIRST_LOOK) show;
    deployment failures only of minutes that ended. With them, the revision the next look must
    start after to see the failures of minutes still going on (None: none)."""
    since = now - RUN_LOOKBACK
    run = UpdateRun
    found: list[Occurrence] = []
    asked = run.select(run.id, run.requested_at).where(run.requested_at >= since)
    for run_id, at in tuples(asked, tuple[int, datetime]):
        found.append(Occurrence(EventKind.AWAITING_APPROVAL, run_id, "", at, {}))
    approved = run.select(run.id, peewee.fn.COALESCE(run.decided_at, run.approved_at)).where(
        ((run.approval == Approval.APPROVED) & (run.decided_at >= since))
        | (run.approval.is_null() & (run.approved_at >= since))
    )
    for run_id, at in tuples(approved, tuple[int, datetime]):
        found.append(Occurrence(EventKind.APPROVED, run_id, "", _utc(at), {}))
    paused = run.select(run.id, run.paused_at).where(run.paused_at >= since)
    for run_id, at in tuples(paused, tuple[int, datetime]):
        found.append(Occurrence(EventKind.PAUSED, run_id, at.isoformat(), at, {}))
    aborted = run.select(run.id, run.aborted_at).where(run.aborted_at >= since)
    for run_id, at in tuples(aborted, tuple[int, datetime]):
        found.append(Occurrence(EventKind.ABORTED, run_id, "", at, {}))
    decided = run.select(run.id, run.approval, run.decided_at).where(
        run.approval.in_([Approval.REJECTED.value, Approval.EXPIRED.value])
        & (run.decided_at >= since)
    )
    for run_id, approval, at in tuples(decided, tuple[int, str, datetime]):
        kind = EventKind.REJECTED if approval == Approval.REJECTED else EventKind.APPROVAL_EXPIRED
        found.append(Occurrence(kind, run_id, "", at, {}))
    changed = (
        Deployment.finished_at >= now - FIRST_LOOK if after is None else Deployment.revision > after
    )
    found.extend(_completed(changed, since))
    failures, held = _failures(changed, now)
    return found + failures, held


def _completed(changed: peewee.Expression, since: datetime) -> Iterable[Occurrence]:
    ended = (
        Deployment.select(Deployment.run, peewee.fn.MAX(Deployment.finished_at))
        .where(changed & Deployment.finished_at.is_null(False))
        .group_by(Deployment.run)
    )
    candidates = {run_id: _utc(at) for run_id, at in tuples(ended, tuple[int, datetime])}
    configured_only = UpdateRun.select(UpdateRun.id, UpdateRun.configured_at).where(
        (UpdateRun.configured_at >= since)
        & ~peewee.fn.EXISTS(Deployment.select().where(Deployment.run == UpdateRun.id))
    )
    candidates.update(tuples(configured_only, tuple[int, datetime]))
    for run_id, at in candidates.items():
        status = run_status(True, run_counts(run_id).get(run_id, {}))
        if status is RunStatus.COMPLETED:
            yield Occurrence(EventKind.COMPLETED, run_id, "", at, {})
        elif status is RunStatus.COMPLETED_WITH_FAILURES:
            yield Occurrence(EventKind.COMPLETED_WITH_FAILURES, run_id, "", at, {})


def _failures(changed: peewee.Expression, now: datetime) -> tuple[list[Occurrence], int | None]:
    """Failed deployments, one occurrence per run and minute, once that minute has ended (by
    this engine's clock); and the revision to look after again for those of minutes that have
    not (None: none)."""
    minute = now.replace(second=0, microsecond=0)
    failed = (
        Deployment.select(
            Deployment.run,
            Device.name,
            Deployment.finished_at,
            Deployment.last_message,
            Deployment.revision,
        )
        .join(Device)
        .where(changed & (Deployment.state == DeploymentState.FAILED))
        .order_by(Deployment.finished_at)
    )
    grouped: dict[tuple[int, datetime], list[dict[str, str]]] = defaultdict(list)
    last: dict[tuple[int, datetime], datetime] = {}
    held: int | None = None
    for run_id, device, at, message, revision in tuples(
        failed, tuple[int, str, datetime, str, int]
    ):
        finished = _utc(at)
        if finished >= minute:  # its minute is still going on: look at it again next time
            held = revision - 1 if held is None else min(held, revision - 1)
            continue
        start = finished.replace(second=0, microsecond=0)
        grouped[run_id, start].append({"device": device, "message": message})
        last[run_id, start] = finished
    found = []
    for (run_id, start), devices in grouped.items():
        extra: dict[str, object] = {"failed_devices": devices, "minute": start.isoformat()}
        # at: the minute's last failure, so a webhook added within that minute hears of it
        found.append(
            Occurrence(
                EventKind.DEPLOYMENT_FAILED, run_id, start.isoformat(), last[run_id, start], extra
            )
        )
    return found, held


def _utc(value: datetime) -> datetime:
    """Aggregates (MAX, COALESCE) come back as text on SQLite; columns as aware datetimes."""
    if isinstance(value, str):
        from appupdater.store.fields import UTCDateTimeField

        return UTCDateTimeField().python_value(value)
    return value


def body(
    kind: EventKind, run_id: int | None, at: datetime, extra: dict[str, object]
) -> dict[str, object]:
    """The JSON a receiver gets: the event, the run, its counts and a summary in words."""
    payload: dict[str, object] = {"event": str(kind), "at": at.isoformat(), **extra}
    if run_id is None:
        payload["summary"] = "A test notification from App Updater."
        return payload
    row = UpdateRun.get_or_none(UpdateRun.id == run_id)
    counts = run_counts(run_id).get(run_id, {})
    total = sum(counts.values())
    payload["counts"] = {
        "deployments": total,
        **{str(s): counts.get(s, 0) for s in DeploymentState},
    }
    if row is not None:
        payload["run"] = {
            "id": row.id,
            "status": _status(row, counts),
            **approver_of(row),
            "requested_by": row.requested_by,
            "decided_by": row.decided_by,
            "decision_note": row.decision_note,
            "paused_by": row.paused_by,
            "pause_reason": row.pause_reason,
            "note": row.note,
        }
    payload["summary"] = summary(kind, run_id, row, counts, extra)
    return payload


def _status(row: UpdateRun, counts: dict[str, int]) -> str:
    if row.aborted_at is not None:
        return "aborted"
    if row.approval in (Approval.AWAITING, Approval.REJECTED, Approval.EXPIRED):
        return "awaiting approval" if row.approval == Approval.AWAITING else str(row.approval)
    if row.paused_at is not None and (row.resumed_at is None or row.resumed_at < row.paused_at):
        return "paused"
    return str(run_status(row.configured_at is not None, counts))


def summary(
    kind: EventKind,
    run_id: int,
    row: UpdateRun | None,
    counts: dict[str, int],
    extra: dict[str, object],
) -> str:
    """One plain sentence, no links: what a chat channel shows."""
    done, failed = counts.get(DeploymentState.SUCCEEDED, 0), counts.get(DeploymentState.FAILED, 0)
    name = f"Run #{run_id}"
    if kind is EventKind.AWAITING_APPROVAL:
        by = row.requested_by if row is not None else "someone"
        return f"{name} requested by {by} awaits approval by a second person."
    if kind is EventKind.APPROVED:
        by = (row.decided_by or row.approved_by) if row is not None else "someone"
        return f"{name} was approved by {by}."
    if kind is EventKind.PAUSED:
        why = f": {row.pause_reason}" if row is not None and row.pause_reason else ""
        by = row.paused_by if row is not None else "someone"
        return f"{name} was paused by {by}{why}."
    if kind is EventKind.ABORTED:
        by = row.aborted_by if row is not None else "someone"
        cancelled = counts.get(DeploymentState.CANCELLED, 0)
        return (
            f"{name} was aborted by {by}: {done} succeeded, {failed} failed, {cancelled} cancelled."
        )
    if kind is EventKind.REJECTED:
        by = row.decided_by if row is not None else "someone"
        why = f": {row.decision_note}" if row is not None and row.decision_note else ""
        return f"{name} was rejected by {by}{why}. Nothing was changed."
    if kind is EventKind.APPROVAL_EXPIRED:
        by = row.requested_by if row is not None else "someone"
        return f"{name} requested by {by} expired without a decision. Nothing was changed."
    if kind is EventKind.DEPLOYMENT_FAILED:
        devices = extra.get("failed_devices")
        names = [str(d["device"]) for d in devices] if isinstance(devices, list) else []
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return f"{name}: {plural(len(names), 'deployment')} failed ({shown})."
    word = EVENT_WORDS[kind].replace("run ", "", 1)
    return f"{name} {word}: {done} succeeded, {failed} failed."


@dataclass(frozen=True)
class Claimed:
    """An event this sender now owns: send it, then `finish` it with the same claim."""

    id: int
    claim: int
    url: str
    secret: str | None
    body: bytes


def claim_due(instance: str, now: datetime, limit: int) -> list[Claimed]:
    """Claim up to `limit` events due now. Events an engine claimed and never finished (it
    stopped mid-send) are given up, not sent again: the receiver may have had them."""
    with writing():
        WebhookEvent.update(state="failed", finished_at=now).where(
            (WebhookEvent.state == "sending") & (WebhookEvent.claimed_at < now - STALE_SENDING)
        ).execute()
    if limit <= 0:
        return []
    due = (
        WebhookEvent.select(WebhookEvent, Webhook)
        .join(Webhook)
        .where(
            (WebhookEvent.state == "pending")
            & (WebhookEvent.next_attempt_at <= now)
            & Webhook.removed_at.is_null()
        )
        .order_by(WebhookEvent.next_attempt_at, WebhookEvent.id)
        .limit(limit)
    )
    claimed = []
    for event in list(due):
        taken = (
            WebhookEvent.update(
                state="sending",
                claim=WebhookEvent.claim + 1,
                claimed_by=instance,
                claimed_at=now,
                attempts=WebhookEvent.attempts + 1,
            )
            .where(
                (WebhookEvent.id == event.id)
                & (WebhookEvent.claim == event.claim)
                & (WebhookEvent.state == "pending")
            )
            .execute()
        )
        if taken:
            hook = event.webhook
            sent = {"id": event.id, **event.body}  # a receiver tells a repeat by its id
            claimed.append(Claimed(event.id, event.claim + 1, hook.url, hook.secret, encode(sent)))
    return claimed


def finish(claimed: Claimed, sent: Sent, now: datetime) -> str:
    """Record one attempt and what follows: delivered, tried again after the backoff, or given
    up. Written only while the claim is still this sender's; the event's new state."""
    with writing():
        event = WebhookEvent.get_or_none(
            (WebhookEvent.id == claimed.id) & (WebhookEvent.claim == claimed.claim)
        )
        if event is None:
            return "lost"
        WebhookAttempt.create(
            event=claimed.id,
            at=now,
            status=sent.status,
            error=sent.error,
            duration_ms=sent.duration_ms,
        )
        removed = (
            Webhook.select()
            .join(WebhookEvent)
            .where((WebhookEvent.id == claimed.id) & Webhook.removed_at.is_null(False))
        )
        if sent.ok:
            state, when = "delivered", {"finished_at": now}
        elif event.attempts < MAX_ATTEMPTS and not removed.exists():  # removed while sending
            state, when = "pending", {"next_attempt_at": now + BACKOFF[event.attempts - 1]}
        else:
            state, when = "failed", {"finished_at": now}
        WebhookEvent.update(state=state, **when).where(
            (WebhookEvent.id == claimed.id) & (WebhookEvent.claim == claimed.claim)
        ).execute()
    return state


def test_event(webhook_id: int, now: datetime) -> Claimed:
    """A test event for `webhook test` / Send test, claimed by the caller, who sends it now."""
    with writing():
        hook = Webhook.get_or_none((Webhook.id == webhook_id) & Webhook.removed_at.is_null())
        if hook is None:
            from appupdater.core.webhooks import WebhookError

            raise WebhookError(f"there is no webhook {webhook_id} (see `appupdater webhook list`)")
        payload = body(EventKind.TEST, None, now, {"webhook": webhook_id})
        event = WebhookEvent.create(
            webhook=webhook_id,
            kind=str(EventKind.TEST),
            key=now.isoformat(),
            body=payload,
            created_at=now,
            state="sending",
            attempts=MAX_ATTEMPTS,  # sent once, never retried
            claim=1,
            claimed_by="test",
            claimed_at=now,
        )
    return Claimed(event.id, 1, hook.url, hook.secret, encode({"id": event.id, **payload}))
