from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone

import peewee
import pytest

from appupdater.errors import (
    DatabaseBusyError,
    DatabaseError,
    ForeignDatabaseError,
    NoDatabaseError,
    SchemaTooNewError,
)
from appupdater.store import migrations
from appupdater.store.db import (
    close_database,
    default_location,
    open_database,
    translate_errors,
    writing,
)
from appupdater.store.migration_steps import Migration
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import Device, SchemaInfo, UpdateRun
from appupdater.store.models import db as proxy
from appupdater.store.revisions import next_revision


def test_default_location_follows_xdg_and_env(tmp_path, monkeypatch):
    assert default_location() == str(tmp_path / "xdg-data" / "appupdater" / "appupdater.sqlite3")
    monkeypatch.setenv("APPUPDATER_DATABASE", "/somewhere/else.sqlite3")
    assert default_location() == "/somewhere/else.sqlite3"


def test_open_creates_file_with_pragmas_and_schema(db, db_path):
    assert db_path.exists()
    pragma = lambda name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == 10_000
    assert schema_version(db) == latest_version()
    assert SchemaInfo.get().written_by


def test_default_open_uses_data_dir(tmp_path):
    database = open_database()
    try:
        assert database.database == str(tmp_path / "xdg-data" / "appupdater" / "appupdater.sqlite3")
    finally:
        close_database()


def test_times_are_stored_utc_and_read_aware(db):
    local = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    run = UpdateRun.create(approved_by="a", approved_at=local)
    raw = db.execute_sql("SELECT approved_at FROM update_run WHERE id = ?", (run.id,)).fetchone()[0]
    assert raw == "2026-11-27 08:00:00.000000"
    back = UpdateRun.get_by_id(run.id).approved_at
    assert back == local and back.tzinfo == UTC
    with pytest.raises(ValueError, match="naive datetime"):
        UpdateRun.create(approved_by="a", approved_at=datetime(2026, 1, 1))


def test_foreign_keys_are_enforced(db):
    with pytest.raises(peewee.IntegrityError):
        db.execute_sql("INSERT INTO device_app (device_id, application_id) VALUES (999, 999)")


def test_newer_schema_is_refused_untouched(db, db_path):
    SchemaInfo.update(version=latest_version() + 5).execute()
    close_database()
    before = db_path.read_bytes()
    with pytest.raises(SchemaTooNewError, match=f"schema version {latest_version() + 5}.*newer"):
        open_database(str(db_path))
    close_database()
    assert db_path.read_bytes() == before


def _add_column(database):
    database.execute_sql("ALTER TABLE device ADD COLUMN colour TEXT DEFAULT 'grey'")


def test_migration_chain_copies_aside_and_steps_forward(db, db_path, monkeypatch):
    Device.create(name="press-01")
    close_database()
    chain = [*migrations.MIGRATIONS, Migration(latest_version() + 1, "add colour", _add_column)]
    monkeypatch.setattr(migrations, "MIGRATIONS", chain)
    database = open_database(str(db_path))
    assert schema_version(database) == chain[-1].version
    columns = [row[1] for row in database.execute_sql("PRAGMA table_info(device)").fetchall()]
    assert "colour" in columns
    backups = list(db_path.parent.glob(f"appupdater.sqlite3.schema{chain[-2].version}-*.bak"))
    assert len(backups) == 1
    with closing(sqlite3.connect(backups[0])) as copy:
        assert copy.execute("SELECT name FROM device").fetchall() == [("press-01",)]
    close_database()
    # opening again: already current, no second copy
    open_database(str(db_path))
    assert len(list(db_path.parent.glob("*.bak"))) == 1


def test_failed_migration_rolls_back(db, db_path, monkeypatch):
    close_database()

    def half_then_fail(database):
        _add_column(database)
        database.execute_sql("INSERT INTO no_such_table VALUES (1)")

    chain = [*migrations.MIGRATIONS, Migration(latest_version() + 1, "broken step", half_then_fail)]
    monkeypatch.setattr(migrations, "MIGRATIONS", chain)
    broken = chain[-1].version
    with pytest.raises(
        DatabaseError, match=rf"schema version {broken} \(broken step\) failed.*a copy"
    ):
        open_database(str(db_path))
    close_database()
    with closing(sqlite3.connect(db_path)) as raw:
        columns = [row[1] for row in raw.execute("PRAGMA table_info(device)").fetchall()]
        assert "colour" not in columns
        assert raw.execute("SELECT version FROM schema_info").fetchone() == (broken - 1,)


def test_locked_database_is_reported_in_words(db, db_path):
    db.execute_sql("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(db_path)
    other.execute("BEGIN IMMEDIATE")
    try:
        with (
            pytest.raises(
                DatabaseBusyError, match="locked by another program; nothing was changed"
            ),
            translate_errors(),
            writing(),
        ):
            Device.create(name="press-01")
    finally:
        other.rollback()
        other.close()
    assert Device.select().count() == 0


def test_unopenable_database(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DatabaseError, match="cannot create the folder"):
        open_database(str(blocker / "sub" / "db.sqlite3"))
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseError, match="is not a database file"):
        open_database(str(garbage))
    close_database()
    proxy.initialize(None)


def _drop_referencing_column(db, table, column):
    """SQLite cannot drop a column a foreign key names: the (empty) table is made again
    without it, with its indexes."""
    [(create,)] = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchall()
    indexes = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,),
    ).fetchall()
    create = re.sub(rf', "{column}" INTEGER', "", create)
    create = re.sub(rf', FOREIGN KEY \("{column}"\)[^,)]*\([^)]*\)[^,)]*', "", create)
    assert column not in create, create
    db.execute_sql(f'DROP TABLE "{table}"')
    db.execute_sql(create)
    for (sql,) in indexes:
        if column not in sql:
            db.execute_sql(sql)


def test_real_chain_from_version_1(db, db_path):
    """A database as version 1 left it gets every later column, table and index, data intact,
    and a change counter that starts at 1."""
    Device.create(name="press-01")
    db.execute_sql("ALTER TABLE deployment DROP COLUMN cancel_requested")
    db.execute_sql("DROP TABLE engine_instance")
    db.execute_sql("DROP INDEX deployment_revision")
    db.execute_sql("ALTER TABLE deployment DROP COLUMN revision")
    db.execute_sql("DROP TABLE change_counter")
    for table, column in (
        ("module", "artifact_url"),
        ("module", "artifact_sha256"),
        ("device", "tls_ca_file"),
        ("device", "tls_fingerprint"),
        ("device", "token"),
        ("deployment", "claim"),
    ):
        db.execute_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
    _drop_referencing_column(db, "target", "installed_version_id")
    db.execute_sql('CREATE INDEX "deployment_updated_at" ON "deployment" ("updated_at")')
    SchemaInfo.update(version=1).execute()
    close_database()
    database = open_database(str(db_path))
    assert schema_version(database) == latest_version() >= 2
    columns = [row[1] for row in database.execute_sql("PRAGMA table_info(deployment)").fetchall()]
    assert "cancel_requested" in columns
    assert database.table_exists("engine_instance")
    assert Device.get().name == "press-01"
    with writing():
        assert next_revision() == 1
    # and the migrated schema is the one a new database gets
    fresh = open_database(str(db_path.parent / "fresh.sqlite3"))
    describe = lambda d: sorted(  # noqa: E731
        (t, sorted(c.name for c in d.get_columns(t)), sorted(i.name for i in d.get_indexes(t)))
        for t in d.get_tables()
    )
    fresh_shape = describe(fresh)
    close_database()
    migrated = open_database(str(db_path))
    assert describe(migrated) == fresh_shape


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_database_is_private_from_the_start(tmp_path, monkeypatch):
    """Agent tokens live in the database: its folders are 0700, the file and its -wal and -shm
    0600, already when SQLite first opens the file (not restricted afterwards)."""
    import os

    os.umask(0o022)  # a usual umask: it must not decide
    path = tmp_path / "new" / "folder" / "appupdater.sqlite3"
    at_open = []
    real_connect = sqlite3.connect

    def watching_connect(database, *args, **kwargs):
        at_open.append(_mode(path))
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", watching_connect)
    open_database(str(path))
    try:
        Device.create(name="press-01")
        assert at_open[0] == 0o600
        assert _mode(tmp_path / "new") == _mode(path.parent) == 0o700
        assert _mode(path) == 0o600
        for end in ("-wal", "-shm"):
            assert _mode(path.with_name(path.name + end)) == 0o600
    finally:
        close_database()


def test_the_migration_copy_is_private(db, db_path, monkeypatch):
    close_database()
    chain = [*migrations.MIGRATIONS, Migration(latest_version() + 1, "add colour", _add_column)]
    monkeypatch.setattr(migrations, "MIGRATIONS", chain)
    open_database(str(db_path))
    close_database()
    [backup] = db_path.parent.glob("*.bak")
    assert _mode(backup) == 0o600


def test_a_loose_database_and_data_folder_are_restricted_once(tmp_path, caplog):
    from appupdater.store.db import data_dir

    folder = data_dir()
    folder.mkdir(parents=True)
    path = folder / "appupdater.sqlite3"
    with closing(sqlite3.connect(path)) as other:  # written by an older App Updater: 0644 in 0755
        other.execute("PRAGMA journal_mode=wal")
    path.chmod(0o644)
    folder.chmod(0o755)
    open_database()
    close_database()
    assert (_mode(folder), _mode(path)) == (0o700, 0o600)
    [warning] = [r.getMessage() for r in caplog.records if "restricted" in r.getMessage()]
    assert str(path) in warning and "644 → 600" in warning
    open_database()
    close_database()
    assert sum("restricted" in r.getMessage() for r in caplog.records) == 1


def test_a_folder_of_the_users_choice_is_left_as_it_is(tmp_path):
    """Only App Updater's own data folder is restricted: a database named in /srv/shared or the
    home folder does not change that folder's permissions."""
    tmp_path.chmod(0o755)
    open_database(str(tmp_path / "mine.sqlite3"))
    close_database()
    assert _mode(tmp_path) == 0o755 and _mode(tmp_path / "mine.sqlite3") == 0o600


def test_read_only_opening_creates_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "db.sqlite3"
    with pytest.raises(NoDatabaseError, match=f"no database at {missing}"):
        open_database(str(missing), create=False)
    assert not (tmp_path / "nowhere").exists()
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    with pytest.raises(NoDatabaseError, match="is empty"):
        open_database(str(empty), create=False)
    assert empty.stat().st_size == 0
    proxy.initialize(None)


def test_another_programs_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(path)) as other:
        other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        other.commit()
    before = path.read_bytes()
    for create in (True, False):
        with pytest.raises(ForeignDatabaseError, match=r"not an App Updater database.*invoices"):
            open_database(str(path), create=create)
    assert path.read_bytes() == before
    with closing(sqlite3.connect(path)) as other:
        tables = other.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert tables == [("invoices",)]
    proxy.initialize(None)


def test_opening_again_closes_the_database_opened_before(tmp_path):
    first = open_database(str(tmp_path / "a.sqlite3"))
    second = open_database(str(tmp_path / "b.sqlite3"))
    try:
        assert first.is_closed() and not second.is_closed()
    finally:
        close_database()


def test_a_folder_made_by_another_process_meanwhile_still_gets_a_private_file(
    tmp_path, monkeypatch
):
    """Two App Updaters starting at once: the other makes the data folder between our look
    and our mkdir. The database file is still created 0600 by us, not left to SQLite (0644)."""
    from pathlib import Path

    real_mkdir = Path.mkdir

    def racing_mkdir(self, mode=0o777, parents=False, exist_ok=False):
        real_mkdir(self, mode=0o700)  # the other process was quicker
        if not exist_ok:
            raise FileExistsError(17, "File exists", str(self))

    monkeypatch.setattr(Path, "mkdir", racing_mkdir)
    path = tmp_path / "data" / "appupdater.sqlite3"
    open_database(str(path))
    close_database()
    monkeypatch.undo()
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
