"""Migrating a SQLite database never loses rows of other tables: playhouse's SQLite migrator
rebuilds a table to add a NOT NULL column (schema 8 adds `update_run.accepted_failures`), and
with foreign keys on, dropping the old `update_run` deleted every target and deployment
(ON DELETE CASCADE)."""

from __future__ import annotations

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import apply_configuration, create_run
from appupdater.store.db import close_database, open_database
from appupdater.store.migration_steps import WAVE_COLUMNS
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import Deployment, DeploymentEvent, SchemaInfo, Target
from tests.helpers import CATALOG, devices_yaml, load_yaml


def test_schema_7_keeps_its_runs_targets_and_deployments(db, db_path):
    load_yaml(
        CATALOG
        + devices_yaml(
            "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}"
        )
    )
    apply_configuration(create_run(plan_update([Selection("line-monitor")]), approved_by="a"))
    counts = (
        Target.select().count(),
        Deployment.select().count(),
        DeploymentEvent.select().count(),
    )
    assert counts == (1, 1, 1)
    db.execute_sql("DROP INDEX deployment_run_id_wave_state")
    for model, field in WAVE_COLUMNS:
        db.execute_sql(f"ALTER TABLE {model._meta.table_name} DROP COLUMN {field.column_name}")
    SchemaInfo.update(version=7).execute()
    close_database()
    database = open_database(str(db_path))
    assert schema_version(database) == latest_version()
    after = (Target.select().count(), Deployment.select().count(), DeploymentEvent.select().count())
    assert after == counts
    assert database.execute_sql("PRAGMA foreign_keys").fetchone() == (1,)
    assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
