"""Schema 6: claim numbers on deployments and heartbeat counters on engine instances, added to
a database of schema 5 with its rows intact (and from version 1: tests/store/test_db.py)."""

from __future__ import annotations

from appupdater.store.db import close_database, open_database
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import Device, EngineInstance, SchemaInfo


def _columns(database, table: str) -> list[str]:
    return [c.name for c in database.get_columns(table)]


def test_schema_5_gains_claim_numbers_and_beats(db, db_path):
    Device.create(name="press-01")
    EngineInstance.create(id="engine-a", host="host-a", pid=1)
    db.execute_sql("ALTER TABLE deployment DROP COLUMN claim")
    db.execute_sql("ALTER TABLE engine_instance DROP COLUMN beat")
    SchemaInfo.update(version=5).execute()
    close_database()
    database = open_database(str(db_path))
    assert schema_version(database) == latest_version() >= 6
    assert "claim" in _columns(database, "deployment")
    assert "beat" in _columns(database, "engine_instance")
    assert Device.get().name == "press-01"
    assert (EngineInstance.get().id, EngineInstance.get().beat) == ("engine-a", 0)
    fresh = open_database(str(db_path.parent / "fresh.sqlite3"))
    fresh_shape = {t: sorted(_columns(fresh, t)) for t in fresh.get_tables()}
    close_database()
    migrated = open_database(str(db_path))
    assert {t: sorted(_columns(migrated, t)) for t in migrated.get_tables()} == fresh_shape


def test_a_reading_command_leaves_an_older_schema_as_it_is(db, db_path):
    """`status`, `export` and `plan` never write: an older database is not migrated (no backup
    is made, the stamp stays) and the message says how to upgrade it."""
    import pytest

    from appupdater.cli import main
    from appupdater.errors import SchemaTooOldError

    Device.create(name="press-01")
    db.execute_sql("ALTER TABLE deployment DROP COLUMN claim")
    db.execute_sql("ALTER TABLE engine_instance DROP COLUMN beat")
    SchemaInfo.update(version=5).execute()
    close_database()
    before = db_path.read_bytes()
    with pytest.raises(
        SchemaTooOldError, match=rf"schema version 5.*needs {latest_version()}.*nothing was changed"
    ):
        open_database(str(db_path), create=False)
    for verb in (["status"], ["plan", "--app", "line-monitor"]):
        assert main(["--database", str(db_path), *verb]) == 1
    assert db_path.read_bytes() == before
    assert list(db_path.parent.glob("*.bak")) == []
