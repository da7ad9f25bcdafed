"""Schema 13: a database of schema 10 gains the second approver's columns on runs; its runs
keep approval None (approved when they were recorded)."""

from __future__ import annotations

from appupdater.store.db import close_database, open_database
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import SchemaInfo, UpdateRun

COLUMNS = (
    "approval",
    "requested_by",
    "requested_at",
    "decided_by",
    "decided_at",
    "decision_note",
    "expires_at",
)


def test_schema_10_gains_approval_columns(db, db_path):
    UpdateRun.create(approved_by="alice")
    for column in COLUMNS:
        db.execute_sql(f"ALTER TABLE update_run DROP COLUMN {column}")
    SchemaInfo.update(version=10).execute()
    close_database()
    database = open_database(str(db_path))
    assert schema_version(database) == latest_version() >= 13
    have = {c.name for c in database.get_columns("update_run")}
    assert set(COLUMNS) <= have
    run = UpdateRun.get()
    assert (run.approved_by, run.approval, run.requested_by) == ("alice", None, None)
