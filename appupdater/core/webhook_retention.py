"""How long webhook history is kept (docs/webhooks.md, "History"). Finished events (delivered,
or given up) older than RETENTION are deleted with their attempts, in batches of BATCH events,
each batch its own short transaction; the engine's webhook looker calls `prune` at most every
PRUNE_EVERY. What is never deleted:

- an event still pending or being sent;
- the events of the last KEEP_LAST attempts of each webhook (what Settings → Notifications and
  `webhook list` show), however old;
- an event told once per run (run.approved, run.completed, …; its key is ""): its row is the
  memory that it was made, and such an event can be found again long after (a failed
  deployment retried a month later completes its run a second time). Their number grows with
  the runs, not with time and failures.

Events told once per moment (run.paused, deployment.failed: the key is that moment) go once
the moment is older than RETENTION; `detect` never makes an event of a moment older than
`remembered_since`, one CLOCK_MARGIN later, so a deleted one is never made and sent again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee

from appupdater.store.bulk import is_postgres
from appupdater.store.db import writing
from appupdater.store.rows import tuples
from appupdater.store.team_models import Webhook, WebhookAttempt, WebhookEvent

RETENTION = timedelta(days=30)
KEEP_LAST = 20  # attempts per webhook, the number Settings → Notifications shows
BATCH = 1000  # events per transaction (with their attempts: at most 4 each)
PRUNE_EVERY = timedelta(minutes=5)
# how far the clocks of two engines (or an engine and a workstation) may disagree without a
# deleted event being found again
CLOCK_MARGIN = timedelta(days=1)
FINISHED = ("delivered", "failed")


def remembered_since(now: datetime, retention: timedelta = RETENTION) -> datetime:
    """The oldest moment an event told once per moment may have and still be made: older ones
    may have been deleted, and must not be made (and sent) again."""
    return now - retention + CLOCK_MARGIN


def history_words(retention: timedelta = RETENTION, keep: int = KEEP_LAST) -> str:
    """One sentence for `webhook list` and Settings → Notifications."""
    return (
        f"Delivery history is kept for {retention.days} days; "
        f"the last {keep} attempts of each webhook are always kept."
    )


@dataclass(frozen=True)
class Pruned:
    """What one `prune` call did: events and attempts deleted, and whether it stopped at its
    batch limit with more left (then the caller prunes again soon, not after PRUNE_EVERY)."""

    events: int
    attempts: int
    more: bool


def prune(
    now: datetime,
    *,
    retention: timedelta = RETENTION,
    keep: int | None = None,
    batch: int = BATCH,
    batches: int | None = None,
) -> Pruned:
    """Delete the finished events older than `retention` and their attempts (see the module
    docstring for what stays; `keep` None: KEEP_LAST), `batch` events per transaction, at most
    `batches` transactions (None: until none is left). Several engines may prune at once: on
    PostgreSQL each takes its batch with SKIP LOCKED, so they delete different rows and never
    wait on one another; SQLite lets one writer in at a time."""
    if retention < 2 * CLOCK_MARGIN:
        raise ValueError(f"webhook history must be kept at least {2 * CLOCK_MARGIN.days} days")
    horizon = now - retention
    kept = last_attempted(KEEP_LAST if keep is None else keep)
    old = (
        WebhookEvent.state.in_(FINISHED)
        & (WebhookEvent.finished_at < horizon)
        & (WebhookEvent.created_at < horizon)
        & (WebhookEvent.key != "")  # told once per run: kept (see the module docstring)
        & (WebhookEvent.key < horizon.isoformat())  # the moment it tells of is old too
    )
    if kept:
        old &= WebhookEvent.id.not_in(sorted(kept))
    events = attempts = done = 0
    after = 0  # ids below it were looked at in this call
    while batches is None or done < batches:
        with writing():
            query = (
                WebhookEvent.select(WebhookEvent.id)
                .where(old & (WebhookEvent.id > after))
                .order_by(WebhookEvent.id)
                .limit(batch)
            )
            if is_postgres(WebhookEvent._meta.database):
                # peewee takes the lock clause as text; its stubs allow only a bool
                query = query.for_update("FOR UPDATE SKIP LOCKED")  # type: ignore[arg-type]
            ids = [i for (i,) in tuples(query, tuple[int])]
            if ids:
                attempts += WebhookAttempt.delete().where(WebhookAttempt.event.in_(ids)).execute()
                events += WebhookEvent.delete().where(WebhookEvent.id.in_(ids)).execute()
        done += 1
        if len(ids) < batch:
            return Pruned(events, attempts, more=False)
        after = ids[-1]
    return Pruned(events, attempts, more=True)


def last_attempted(keep: int) -> set[int]:
    """The events of each webhook's `keep` newest attempts (removed webhooks too: their
    deliveries stay readable), newest as `core.webhooks.deliveries` orders them."""
    found: set[int] = set()
    if keep <= 0:
        return found
    for (hook_id,) in tuples(Webhook.select(Webhook.id), tuple[int]):
        newest = (
            WebhookAttempt.select(WebhookAttempt.event)
            .join(WebhookEvent)
            .where(WebhookEvent.webhook == hook_id)
            .order_by(WebhookAttempt.at.desc(), WebhookAttempt.id.desc())
            .limit(keep)
        )
        found.update(i for (i,) in tuples(newest, tuple[int]))
    return found


def finished_count() -> int:
    """How many finished events there are (for the bench and `webhook list --json`)."""
    return int(
        WebhookEvent.select(peewee.fn.COUNT(WebhookEvent.id))
        .where(WebhookEvent.state.in_(FINISHED))
        .scalar()
        or 0
    )
