"""On PostgreSQL: two engines looking at once make each event once, and each is claimed by one
of them only; the times come back as the same moments SQLite gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core import notifications, webhooks
from appupdater.core.runs import apply_configuration
from appupdater.core.webhooks import Sent
from appupdater.store.models import Deployment
from appupdater.store.team_models import WebhookEvent
from tests.helpers import behind_on_line_monitor

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 28, 9, 0, 30, tzinfo=UTC)


def test_two_engines_make_and_claim_each_event_once(pg):
    webhooks.add_webhook("https://chat.example/hook")
    from appupdater.store.team_models import Webhook

    Webhook.update(created_at=NOW - timedelta(hours=12)).execute()
    run_id = behind_on_line_monitor(3)
    apply_configuration(run_id, NOW)
    ids = [d.id for d in Deployment.select().order_by(Deployment.id)]
    Deployment.update(state="succeeded", finished_at=NOW).where(Deployment.id << ids[:2]).execute()
    Deployment.update(state="failed", finished_at=NOW).where(Deployment.id == ids[2]).execute()
    later = NOW + timedelta(minutes=1)
    for _engine in range(2):
        notifications.detect(later, None)
    kinds = sorted(e.kind for e in WebhookEvent.select())
    assert kinds == ["deployment.failed", "run.approved", "run.completed_with_failures"]
    first = notifications.claim_due("engine-a", later, 10)
    second = notifications.claim_due("engine-b", later, 10)
    assert (len(first), second) == (3, [])
    states = {notifications.finish(c, Sent(200, "", 5), later) for c in first}
    assert states == {"delivered"}
    failed = WebhookEvent.get(WebhookEvent.kind == "deployment.failed")
    assert failed.key == "2026-11-28T09:00:00+00:00"
    assert failed.body["failed_devices"][0]["device"] == "dev-002"
