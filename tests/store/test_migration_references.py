"""A migration step that leaves broken references is rolled back before its version is stamped
(SQLite checks the foreign keys inside each step's transaction), and says where the copy from
before is."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from appupdater.errors import DatabaseError
from appupdater.store import migrations
from appupdater.store.db import close_database, open_database
from appupdater.store.migrations import latest_version
from appupdater.store.models import SchemaInfo
from tests.helpers import CATALOG, devices_yaml, load_yaml


def _orphan_target(database) -> None:
    """A step that writes a target of a device that does not exist."""
    database.execute_sql(
        "INSERT INTO target (run_id, device_id, application_id, to_version_id, action) "
        "VALUES (999, 999, 999, 999, 'now')"
    )


def test_a_step_leaving_broken_references_is_rolled_back_and_names_the_backup(
    db, db_path, monkeypatch
):
    load_yaml(CATALOG + devices_yaml("{name: press-01}"))
    latest = latest_version()
    SchemaInfo.update(version=latest - 1).execute()
    close_database()
    last = migrations.MIGRATIONS[-1]
    steps = [*migrations.MIGRATIONS[:-1], dataclasses.replace(last, apply=_orphan_target)]
    monkeypatch.setattr(migrations, "MIGRATIONS", steps)
    with pytest.raises(DatabaseError) as raised:
        open_database(str(db_path))
    message = str(raised.value)
    assert f"schema version {latest}" in message and "broken reference" in message
    backups = list(db_path.parent.glob(f"{db_path.name}.schema{latest - 1}-*.bak"))
    assert len(backups) == 1 and str(backups[0]) in message
    close_database()
    connection = sqlite3.connect(db_path)
    try:
        assert connection.execute("SELECT version FROM schema_info").fetchall() == [(latest - 1,)]
        assert connection.execute("SELECT count(*) FROM target").fetchone() == (0,)
    finally:
        connection.close()
