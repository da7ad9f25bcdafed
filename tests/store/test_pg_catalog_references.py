"""Schema 7: on PostgreSQL a run's targets refer to runs, devices and the catalog without a
check per row (each checked reference is a trigger per inserted row: 2.5 of the 3 seconds of a
100k-device run). What makes that safe: nothing in App Updater deletes what they refer to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appupdater.store import migration_steps
from appupdater.store.migrations import ensure_schema, latest_version, schema_version
from appupdater.store.models import SchemaInfo

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def checked_columns(database) -> set[str]:
    rows = database.execute_sql(
        "SELECT a.attname FROM pg_constraint c JOIN pg_attribute a "
        "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
        "WHERE c.conrelid = 'target'::regclass AND c.contype = 'f'"
    ).fetchall()
    return {name for (name,) in rows}


def test_a_new_database_checks_no_reference_of_a_target(pg):
    assert checked_columns(pg) == set()
    other = pg.execute_sql(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid <> 'target'::regclass"
    ).fetchone()[0]
    assert other > 0  # the other tables keep theirs


def test_migrating_from_6_drops_the_checks_of_the_targets(pg):
    pg.execute_sql(
        "ALTER TABLE target ADD CONSTRAINT target_to_version_fk FOREIGN KEY (to_version_id) "
        "REFERENCES app_version (id) ON DELETE RESTRICT"
    )
    SchemaInfo.update(version=6).execute()
    assert schema_version(pg) == 6 and "to_version_id" in checked_columns(pg)
    migrated = ensure_schema(pg, confirmed=True)
    assert (migrated.from_version, migrated.to_version) == (6, latest_version())
    assert checked_columns(pg) == set()


def test_nothing_in_app_updater_deletes_what_a_target_refers_to():
    """What the unchecked references rely on (see migration_steps.UNCHECKED_ON_SERVER)."""
    deleting = re.compile(
        r"\b(Application|AppVersion|Device|UpdateRun)\.delete\b"
        r"|DELETE FROM \"?(application|app_version|device|update_run)\b"
    )
    found = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in sorted((ROOT / "appupdater").rglob("*.py"))
        for line in path.read_text().splitlines()
        if deleting.search(line)
    ]
    assert found == []
    assert migration_steps.UNCHECKED_ON_SERVER
