"""Schema 14: a database of schema 13 gains the webhook tables, empty; its runs untouched."""

from __future__ import annotations

from appupdater.store.db import close_database, open_database
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import SchemaInfo, UpdateRun
from appupdater.store.team_models import Webhook, WebhookAttempt, WebhookEvent

TABLES = ("webhook", "webhook_event", "webhook_attempt")


def test_schema_13_gains_the_webhook_tables(db, db_path):
    UpdateRun.create(approved_by="alice")
    db.drop_tables([WebhookAttempt, WebhookEvent, Webhook])
    SchemaInfo.update(version=13).execute()
    close_database()
    database = open_database(str(db_path))
    assert schema_version(database) == latest_version() >= 14
    assert set(TABLES) <= set(database.get_tables())
    assert Webhook.select().count() == 0
    assert UpdateRun.get().approved_by == "alice"
    unique = [i for i in database.get_indexes("webhook_event") if i.unique]
    assert [i.columns for i in unique] == [["webhook_id", "kind", "run", "key"]]
