"""Schema 10: a database of schema 9 gains configuration revisions; every device gets revision
1, "migrated", holding its configuration as it was, and rollbacks work from there. On SQLite and
on PostgreSQL (`appupdater migrate`)."""

from __future__ import annotations

import pytest

from appupdater.cli import main
from appupdater.core.config_history import device_history
from appupdater.store.db import close_database, open_database
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import Device, SchemaInfo
from tests.helpers import CATALOG, devices_yaml, load_yaml

FLEET = CATALOG + devices_yaml(
    "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
    " edge-gateway: {configured: '3.9', installed: '3.9'}}}",
    "{name: press-02, applications: {line-monitor: {installed: '1.0.0'}}}",
    "{name: press-03}",
)


def _make_schema_9(database) -> None:
    load_yaml(FLEET)
    database.execute_sql("DROP TABLE config_revision")
    for table, column in (
        ("device", "config_revision"),
        ("update_run", "rollback_of"),
        ("update_run", "reason"),
        ("target", "from_revision"),
        ("target", "skipped"),
    ):
        database.execute_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
    SchemaInfo.update(version=9).execute()
    close_database()


def _check_migrated(database) -> None:
    assert schema_version(database) == latest_version() >= 10
    expected = {
        "press-01": {"edge-gateway": "3.9", "line-monitor": "1.0.0"},
        "press-02": {},
        "press-03": {},
    }
    for device in Device.select():
        history = device_history(device.id)
        assert [(r.number, r.replaced, r.reason, r.run_id) for r in history] == [
            (1, None, "migrated", None)
        ]
        assert history[0].configured == expected[device.name]
        assert device.config_revision == 1
    target_columns = {column.name for column in database.get_columns("target")}
    assert {"from_revision", "skipped"} <= target_columns


def test_schema_9_gains_revision_1_for_every_device(db, db_path):
    _make_schema_9(db)
    database = open_database(str(db_path))
    _check_migrated(database)


@pytest.mark.integration
def test_schema_9_on_postgresql_is_migrated_by_appupdater_migrate(pg, pg_url, capsys):
    _make_schema_9(pg)
    assert main(["--database", pg_url, "migrate", "--yes"]) == 0
    assert "version 10: configuration revisions" in capsys.readouterr().out
    _check_migrated(open_database(pg_url))
