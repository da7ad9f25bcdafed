"""Schema migrations of a shared PostgreSQL database: never silent (the verbs refuse an older
schema and say how to back up and migrate), `appupdater migrate` says what it will do and does
it, two processes migrating at once both succeed with the migration applied once, and a
database too new names the App Updater version that wrote it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from appupdater.cli import main
from appupdater.errors import SchemaTooNewError, SchemaTooOldError
from appupdater.store.db import close_database, open_database
from appupdater.store.migrations import SCHEMA_LOCK, latest_version, schema_version
from appupdater.store.models import Device, SchemaInfo
from appupdater.store.models import db as proxy
from appupdater.store.tables import ALL_MODELS

integration = pytest.mark.integration


@pytest.fixture
def pg(pg_url):
    database = open_database(pg_url)
    yield database
    open_database(pg_url, migrate=False).drop_tables(list(reversed(ALL_MODELS)), cascade=True)
    close_database()
    proxy.initialize(None)


def _make_schema_5(database) -> None:
    Device.create(name="press-01")
    database.execute_sql("ALTER TABLE deployment DROP COLUMN claim")
    database.execute_sql("ALTER TABLE engine_instance DROP COLUMN beat")
    SchemaInfo.update(version=5).execute()
    close_database()


def _columns(database, table: str) -> set[str]:
    return {c.name for c in database.get_columns(table)}


@integration
def test_the_verbs_refuse_an_older_schema_and_say_how_to_migrate(pg, pg_url, capsys):
    _make_schema_5(pg)
    with pytest.raises(SchemaTooOldError, match="pg_dump"):
        open_database(pg_url)
    for verb in (["status"], ["import", "nothing.yaml"], ["engine"]):
        capsys.readouterr()
        assert main(["--database", pg_url, *verb]) == 1
        err = capsys.readouterr().err.strip()
        assert "\n" not in err
        assert "schema version 5" in err and f"needs {latest_version()}" in err
        assert "pg_dump" in err and "appupdater migrate" in err
        assert "nothing was changed" in err
    database = open_database(pg_url, migrate=False)
    assert schema_version(database) == 5
    assert "claim" not in _columns(database, "deployment")


@integration
def test_migrate_says_what_it_will_do_and_does_it(pg, pg_url, capsys, monkeypatch):
    _make_schema_5(pg)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["--database", pg_url, "migrate"]) == 1
    out, err = capsys.readouterr()
    assert f"from schema version 5 to {latest_version()}" in out
    assert "claim tokens and heartbeat counters" in out
    assert "pg_dump" in out
    assert "--yes" in err and "nothing was changed" in err
    assert schema_version(open_database(pg_url, migrate=False)) == 5
    assert main(["--database", pg_url, "migrate", "--yes"]) == 0
    out, _ = capsys.readouterr()
    assert "migrated the database" in out and f"to schema version {latest_version()}" in out
    database = open_database(pg_url)
    assert schema_version(database) == latest_version()
    assert "claim" in _columns(database, "deployment")
    assert Device.get().name == "press-01"
    assert main(["--database", pg_url, "migrate", "--yes"]) == 0
    assert f"already at schema version {latest_version()}" in capsys.readouterr().out


@integration
def test_two_processes_migrating_at_once_both_succeed(pg, pg_url):
    _make_schema_5(pg)
    command = [sys.executable, "-m", "appupdater", "-v", "--database", pg_url, "migrate", "--yes"]
    processes = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    applied = [out for out in outputs if "migrated schema to version 6" in out]
    assert len(applied) == 1, outputs
    database = open_database(pg_url)
    assert schema_version(database) == latest_version()
    assert SchemaInfo.select().count() == 1


@integration
def test_a_newer_schema_names_the_version_to_install(pg, pg_url):
    SchemaInfo.update(version=latest_version() + 1, written_by="9.9.9").execute()
    close_database()
    with pytest.raises(SchemaTooNewError, match=r"written by App Updater 9\.9\.9; install it"):
        open_database(pg_url)


def test_migrate_on_sqlite_keeps_a_copy(tmp_path, capsys):
    path = tmp_path / "fleet.sqlite3"
    database = open_database(str(path))
    Device.create(name="press-01")
    database.execute_sql("ALTER TABLE deployment DROP COLUMN claim")
    database.execute_sql("ALTER TABLE engine_instance DROP COLUMN beat")
    SchemaInfo.update(version=5).execute()
    close_database()
    assert main(["--database", str(path), "migrate", "--yes"]) == 0
    out = capsys.readouterr().out
    assert (
        f"from schema version 5 to {latest_version()}" in out
        and "A copy of the file is kept" in out
    )
    assert len(list(tmp_path.glob("*.bak"))) == 1
    assert schema_version(open_database(str(path))) == latest_version()
    close_database()


@integration
def test_a_migration_waiting_for_another_is_not_cut_by_the_statement_timeout(
    pg, pg_url, monkeypatch
):
    """Schema changes wait for each other and may take long: the per-statement limit that keeps
    a hung server from freezing a window does not cut them (here 500 ms, held 1.5 s)."""
    import threading

    import psycopg2

    _make_schema_5(pg)
    holder = psycopg2.connect(pg_url)
    holder.autocommit = True
    holder.cursor().execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
    release = threading.Timer(
        1.5, lambda: holder.cursor().execute("SELECT pg_advisory_unlock_all()")
    )
    release.start()
    try:
        monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=500")
        assert main(["--database", pg_url, "migrate", "--yes"]) == 0
    finally:
        release.join()
        holder.close()
    monkeypatch.delenv("PGOPTIONS")
    assert schema_version(open_database(pg_url)) == latest_version()
