"""Schema 8: runs in waves (strategy, open wave, pause and abort with who and when) and each
target's and deployment's wave, added to a database of schema 7 with its rows intact."""

from __future__ import annotations

import pytest

from appupdater.store.db import close_database, open_database
from appupdater.store.migration_steps import WAVE_COLUMNS
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import Device, SchemaInfo, UpdateRun


def _shape(database) -> dict[str, tuple[list[str], list[str]]]:
    return {
        t: (
            sorted(c.name for c in database.get_columns(t)),
            sorted(i.name for i in database.get_indexes(t)),
        )
        for t in database.get_tables()
    }


def _make_schema_7(db) -> None:
    Device.create(name="press-01")
    UpdateRun.create(approved_by="alice")
    db.execute_sql("DROP INDEX deployment_run_id_wave_state")
    for model, field in WAVE_COLUMNS:
        db.execute_sql(f"ALTER TABLE {model._meta.table_name} DROP COLUMN {field.column_name}")
    SchemaInfo.update(version=7).execute()


def test_schema_7_gains_waves_and_decisions(db, db_path):
    _make_schema_7(db)
    close_database()
    database = open_database(str(db_path))
    assert schema_version(database) == latest_version() >= 8
    run = UpdateRun.get()
    assert (run.approved_by, run.strategy, run.open_wave, run.paused_at) == (
        "alice",
        None,
        None,
        None,
    )
    assert run.accepted_failures == 0
    assert Device.get().name == "press-01"
    fresh = open_database(str(db_path.parent / "fresh.sqlite3"))
    fresh_shape = _shape(fresh)
    close_database()
    assert _shape(open_database(str(db_path))) == fresh_shape


@pytest.mark.integration
def test_a_postgresql_database_of_schema_7_is_migrated_to_waves(pg_url):
    from appupdater.cli import main
    from appupdater.store.models import db as proxy
    from appupdater.store.tables import ALL_MODELS

    database = open_database(pg_url)
    try:
        _make_schema_7(database)
        close_database()
        assert main(["--database", pg_url, "migrate", "--yes"]) == 0
        migrated = open_database(pg_url)
        assert schema_version(migrated) == latest_version()
        assert UpdateRun.get().approved_by == "alice"
        columns = {c.name for c in migrated.get_columns("update_run")}
        assert {"strategy", "open_wave", "paused_by", "aborted_at"} <= columns
        assert "wave" in {c.name for c in migrated.get_columns("deployment")}
        assert "deployment_run_id_wave_state" in {
            i.name for i in migrated.get_indexes("deployment")
        }
    finally:
        open_database(pg_url, migrate=False).drop_tables(list(reversed(ALL_MODELS)), cascade=True)
        close_database()
        proxy.initialize(None)
