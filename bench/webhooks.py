"""Webhook history on a long-running fleet: pruning a year of finished events.

    python bench/webhooks.py --events 1000000 [--database postgresql://user@host/db]

Fills the webhook tables with EVENTS finished deployment.failed events (two webhooks, one a
minute each, over about a year; every tenth given up after 4 attempts, the rest delivered at
the first), plus 200 pending events due now, then prints name=value lines:

    fill_s                 writing the events and their attempts
    events, attempts       how many were written
    due_ms_before          claiming the events due (core/notifications.claim_due), full tables
    detect_ms_before       a look that finds something happened (core/notifications.detect)
    keep_last_ms           finding the last 20 attempts of each webhook (kept however old)
    prune_s                core/webhook_retention.prune until nothing old is left
    prune_looks            the engine looks that took (each PRUNE_BATCHES transactions of 1,000
                           events: one transaction holds its locks for a tenth of a look)
    prune_look_max_ms      the longest look's pruning (keep_last_ms of it finding what stays)
    pruned_events, pruned_attempts
    due_ms_after, detect_ms_after   the same look once pruned

Without --database the tables go to a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from appupdater.core import notifications  # noqa: E402
from appupdater.core import webhook_retention as retention  # noqa: E402
from appupdater.engine import webhooks as sending  # noqa: E402
from appupdater.store.bulk import insert_rows  # noqa: E402
from appupdater.store.db import close_database, open_database, writing  # noqa: E402
from appupdater.store.models import Deployment, UpdateRun  # noqa: E402
from appupdater.store.team_models import Webhook, WebhookAttempt, WebhookEvent  # noqa: E402

NOW = datetime(2027, 12, 1, 9, 0, tzinfo=UTC)
CHUNK = 50_000
BODY = {
    "event": "deployment.failed",
    "failed_devices": [{"device": f"dev-{n:05d}", "message": "unreachable"} for n in range(3)],
    "summary": "Run #1: 3 deployments failed (dev-00000, dev-00001, dev-00002).",
}


def fill(count: int) -> tuple[float, int]:
    """`count` finished events over the year before NOW (and their attempts); seconds taken
    and the number of attempts."""
    started = time.perf_counter()
    hooks = [
        Webhook.create(url=f"https://chat.example/{n}", created_at=NOW - timedelta(days=400)).id
        for n in range(2)
    ]
    at_field, body = WebhookEvent.created_at, WebhookEvent.body.db_value(BODY)
    event_fields = [
        WebhookEvent.id,
        WebhookEvent.webhook,
        WebhookEvent.kind,
        WebhookEvent.run,
        WebhookEvent.key,
        WebhookEvent.body,
        WebhookEvent.created_at,
        WebhookEvent.state,
        WebhookEvent.attempts,
        WebhookEvent.next_attempt_at,
        WebhookEvent.finished_at,
    ]
    attempt_fields = [WebhookAttempt.event, WebhookAttempt.at, WebhookAttempt.status]
    start = NOW - timedelta(days=365)
    attempts = 0
    for first in range(1, count + 1, CHUNK):
        events, tries = [], []
        for n in range(first, min(first + CHUNK, count + 1)):
            moment = start + timedelta(minutes=n // 2)
            given_up = n % 10 == 0
            stamp = at_field.db_value(moment)
            events.append(
                (
                    n,
                    hooks[n % 2],
                    "deployment.failed",
                    1 + n // 5000,
                    moment.replace(second=0).isoformat(),
                    body,
                    stamp,
                    "failed" if given_up else "delivered",
                    4 if given_up else 1,
                    stamp,
                    stamp,
                )
            )
            for k in range(4 if given_up else 1):
                tries.append((n, at_field.db_value(moment + timedelta(seconds=k)), 500))
        with writing():
            insert_rows(WebhookEvent, event_fields, events)
            insert_rows(WebhookAttempt, attempt_fields, tries)
        attempts += len(tries)
    with writing():
        for n in range(200):
            WebhookEvent.create(
                webhook=hooks[n % 2],
                kind="deployment.failed",
                run=999_999,
                key=(NOW - timedelta(minutes=n)).isoformat(),
                created_at=NOW,
                next_attempt_at=NOW,
            )
        WebhookEvent.update(state="pending").where(WebhookEvent.run == 999_999).execute()
    database = WebhookEvent._meta.database
    if hasattr(database, "execute_sql"):
        database.execute_sql("ANALYZE")
    return time.perf_counter() - started, attempts


def a_failure_to_detect() -> None:
    """One run with a failed deployment of the last minute: a look has something to check."""
    from tests.helpers import behind_on_line_monitor  # a small fleet and an approved run

    run_id = behind_on_line_monitor(3)
    from appupdater.core.runs import apply_configuration

    apply_configuration(run_id, NOW - timedelta(minutes=3))
    Deployment.update(state="failed", finished_at=NOW - timedelta(minutes=2)).where(
        Deployment.run == run_id
    ).execute()
    UpdateRun.update(approved_at=NOW - timedelta(minutes=3)).where(UpdateRun.id == run_id).execute()


def looks() -> tuple[float, float]:
    """Milliseconds of claiming what is due (claims rolled back) and of a first look."""
    database = WebhookEvent._meta.database
    started = time.perf_counter()
    with database.atomic() as transaction:
        notifications.claim_due("bench", NOW, 8)
        transaction.rollback()
    due = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    with database.atomic() as transaction:
        notifications.detect(NOW, None)
        transaction.rollback()
    return due, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        open_database(args.database or os.path.join(folder, "bench.db"))
        try:
            fill_s, attempts = fill(args.events)
            a_failure_to_detect()
            due_before, detect_before = looks()
            started = time.perf_counter()
            retention.last_attempted(retention.KEEP_LAST)
            keep_ms = (time.perf_counter() - started) * 1000
            looks_, longest, events, tries = 0, 0.0, 0, 0
            started = time.perf_counter()
            while True:  # as the engine's looker does: PRUNE_BATCHES transactions a look
                one = time.perf_counter()
                pruned = retention.prune(NOW, batches=sending.PRUNE_BATCHES)
                longest = max(longest, time.perf_counter() - one)
                looks_, events, tries = looks_ + 1, events + pruned.events, tries + pruned.attempts
                if not pruned.more:
                    break
            prune_s = time.perf_counter() - started
            due_after, detect_after = looks()
        finally:
            close_database()
    for name, value in (
        ("events", args.events),
        ("attempts", attempts),
        ("fill_s", f"{fill_s:.1f}"),
        ("due_ms_before", f"{due_before:.1f}"),
        ("detect_ms_before", f"{detect_before:.1f}"),
        ("keep_last_ms", f"{keep_ms:.1f}"),
        ("prune_s", f"{prune_s:.1f}"),
        ("prune_looks", looks_),
        ("prune_look_max_ms", f"{longest * 1000:.1f}"),
        ("pruned_events", events),
        ("pruned_attempts", tries),
        ("due_ms_after", f"{due_after:.1f}"),
        ("detect_ms_after", f"{detect_after:.1f}"),
    ):
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
