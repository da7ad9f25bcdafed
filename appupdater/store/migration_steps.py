"""The migration chain: every numbered schema step (1 to the latest), what each changes, and
the column lists the steps and their tests share. The runner that applies them is
migrations.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import peewee
from playhouse.migrate import SchemaMigrator, migrate

from appupdater import __version__
from appupdater.errors import DatabaseError
from appupdater.store.fields import utcnow
from appupdater.store.models import (
    ChangeCounter,
    ConfigRevision,
    Deployment,
    Device,
    EngineInstance,
    Module,
    Target,
    UpdateRun,
)
from appupdater.store.revisions import create_counters
from appupdater.store.team_models import AuditEntry, TeamSetting


@dataclass(frozen=True)
class Migration:
    """Brings a database from `version - 1` to `version`."""

    version: int
    description: str
    apply: Callable[[peewee.Database], None]


def _baseline(database: peewee.Database) -> None:
    """Version 1 is where the chain starts: a database stamped 1 was created with it."""
    raise DatabaseError("a database without schema version cannot be migrated")


def _engine_coordination(database: peewee.Database) -> None:
    migrator = SchemaMigrator.from_database(database)
    migrate(migrator.add_column("deployment", "cancel_requested", Deployment.cancel_requested))
    database.create_tables([EngineInstance])


def _revisions(database: peewee.Database) -> None:
    migrator = SchemaMigrator.from_database(database)
    database.create_tables([ChangeCounter])
    create_counters(database)
    migrate(
        migrator.add_column("deployment", "revision", Deployment.revision),
        migrator.drop_index("deployment", "deployment_updated_at"),
        migrator.add_index("deployment", ("revision",), False),
    )


def _device_agents(database: peewee.Database) -> None:
    migrator = SchemaMigrator.from_database(database)
    migrate(
        migrator.add_column("module", "artifact_url", Module.artifact_url),
        migrator.add_column("module", "artifact_sha256", Module.artifact_sha256),
        migrator.add_column("device", "tls_ca_file", Device.tls_ca_file),
        migrator.add_column("device", "tls_fingerprint", Device.tls_fingerprint),
        migrator.add_column("device", "token", Device.token),
    )


def _installed_at_approval(database: peewee.Database) -> None:
    migrator = SchemaMigrator.from_database(database)
    migrate(migrator.add_column("target", "installed_version_id", Target.installed_version))


def _clock_free_leases(database: peewee.Database) -> None:
    """Each column only where it is missing: a database that started at version 1 got
    engine_instance from step 2, made from today's model, `beat` included."""
    migrator = SchemaMigrator.from_database(database)
    steps = []
    for model, field in ((Deployment, Deployment.claim), (EngineInstance, EngineInstance.beat)):
        table = model._meta.table_name
        if field.column_name not in {column.name for column in database.get_columns(table)}:
            steps.append(migrator.add_column(table, field.column_name, field))
    migrate(*steps)


# Target's references that PostgreSQL does not check (SQLite does): on PostgreSQL each checked
# reference is a trigger per inserted row, and these six cost a 100,000-device run 2.5 of its
# 3 seconds (a run writes a target per device and application). Nothing in App Updater deletes
# an application, a version, a device or a run (tested), which is all these checks guarded
# against: the rows a target refers to are written before it in the same transaction or exist
# for good.
UNCHECKED_ON_SERVER = (
    "run_id",
    "device_id",
    "application_id",
    "from_version_id",
    "to_version_id",
    "installed_version_id",
)


def _catalog_references_unchecked(database: peewee.Database) -> None:
    if not isinstance(database, peewee.PostgresqlDatabase):
        return
    rows = database.execute_sql(  # type: ignore[no-untyped-call]
        "SELECT c.conname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
        "WHERE c.conrelid = 'target'::regclass AND c.contype = 'f' AND a.attname = ANY (%s)",
        (list(UNCHECKED_ON_SERVER),),
    ).fetchall()
    for (name,) in sorted(set(rows)):
        database.execute_sql(f'ALTER TABLE target DROP CONSTRAINT "{name}"')  # type: ignore[no-untyped-call]


# The columns schema 8 adds: a run's strategy in waves, the open wave and what people decided
# (paused, resumed, aborted: who and when), and each target's and deployment's wave.
WAVE_COLUMNS = (
    (UpdateRun, UpdateRun.strategy),
    (UpdateRun, UpdateRun.open_wave),
    (UpdateRun, UpdateRun.wave_opened_at),
    (UpdateRun, UpdateRun.accepted_failures),
    (UpdateRun, UpdateRun.paused_at),
    (UpdateRun, UpdateRun.paused_by),
    (UpdateRun, UpdateRun.pause_reason),
    (UpdateRun, UpdateRun.resumed_at),
    (UpdateRun, UpdateRun.resumed_by),
    (UpdateRun, UpdateRun.aborted_at),
    (UpdateRun, UpdateRun.aborted_by),
    (Target, Target.wave),
    (Deployment, Deployment.wave),
)


def _waves(database: peewee.Database) -> None:
    """Each column and the index only where missing (see `_clock_free_leases`)."""
    migrator = SchemaMigrator.from_database(database)
    steps = []
    for model, field in WAVE_COLUMNS:
        table = model._meta.table_name
        if field.column_name not in {column.name for column in database.get_columns(table)}:
            steps.append(migrator.add_column(table, field.column_name, field))
    if "deployment_run_id_wave_state" not in {i.name for i in database.get_indexes("deployment")}:
        steps.append(migrator.add_index("deployment", ("run_id", "wave", "state"), False))
    migrate(*steps)


def _team_settings(database: peewee.Database) -> None:
    database.create_tables([TeamSetting])


def _config_revisions(database: peewee.Database) -> None:
    """Revisions of configurations: the table, each device's newest number, a run's rollback_of and
    reason, a restoring run's target's from_revision and skipped; every device gets revision 1,
    "migrated", holding its configuration as it is (one bulk insert). Columns only where missing
    (see `_clock_free_leases`)."""
    from appupdater.store.config_revisions import configured_maps, record_revisions

    if "config_revision" not in {column.name for column in database.get_columns("device")}:
        # by hand: playhouse's SQLite migrator makes a NOT NULL column by rebuilding the table,
        # and dropping `device` would delete its rows' device_app rows (foreign keys cascade)
        database.execute_sql(  # type: ignore[no-untyped-call]
            "ALTER TABLE device ADD COLUMN config_revision INTEGER NOT NULL DEFAULT 0"
        )
    migrator = SchemaMigrator.from_database(database)
    steps = []
    for model, field in (
        (UpdateRun, UpdateRun.rollback_of),
        (UpdateRun, UpdateRun.reason),
        (Target, Target.from_revision),
        (Target, Target.skipped),
    ):
        table = model._meta.table_name
        if field.column_name not in {column.name for column in database.get_columns(table)}:
            steps.append(migrator.add_column(table, field.column_name, field))
    migrate(*steps)
    database.create_tables([ConfigRevision])
    maps = configured_maps()
    changed = {d: (0, config.configured) for d, config in maps.items() if config.number == 0}
    record_revisions(changed, at=utcnow(), by=f"App Updater {__version__}", reason=MIGRATED)


def _device_health(database: peewee.Database) -> None:
    from appupdater.store.models import DeviceHealth

    database.create_tables([DeviceHealth])


# The columns schema 13 adds to runs: the second approver (see UpdateRun and docs/approval.md).
APPROVAL_COLUMNS = (
    UpdateRun.approval,
    UpdateRun.requested_by,
    UpdateRun.requested_at,
    UpdateRun.decided_by,
    UpdateRun.decided_at,
    UpdateRun.decision_note,
    UpdateRun.expires_at,
)


def _second_approver(database: peewee.Database) -> None:
    """Existing runs keep approval None (approved when recorded). Columns only where missing
    (see `_clock_free_leases`)."""
    migrator = SchemaMigrator.from_database(database)
    have = {column.name for column in database.get_columns("update_run")}
    migrate(
        *(
            migrator.add_column("update_run", field.column_name, field)
            for field in APPROVAL_COLUMNS
            if field.column_name not in have
        )
    )


def _webhooks(database: peewee.Database) -> None:
    from appupdater.store.team_models import Webhook, WebhookAttempt, WebhookEvent

    database.create_tables([Webhook, WebhookEvent, WebhookAttempt])


def _audit(database: peewee.Database) -> None:
    database.create_tables([AuditEntry])


MIGRATED = "migrated"  # the reason of the revision 1 that schema 10 gives every device


MIGRATIONS: list[Migration] = [
    Migration(1, "initial schema", _baseline),
    Migration(2, "cancel flag on deployments, engine instances", _engine_coordination),
    Migration(3, "change counter for pollers instead of a time window", _revisions),
    Migration(4, "module artifacts, device agent connections", _device_agents),
    Migration(5, "what a target's device ran when its run was approved", _installed_at_approval),
    Migration(6, "claim tokens and heartbeat counters instead of clocks", _clock_free_leases),
    Migration(
        7,
        "PostgreSQL: a run's targets' references unchecked (2-3x faster runs)",
        _catalog_references_unchecked,
    ),
    Migration(8, "rollouts in waves: strategy, pause and abort on runs, waves", _waves),
    Migration(9, "settings shared by a team (the default rollout strategy)", _team_settings),
    Migration(
        10,
        "configuration revisions (every device's configuration becomes revision 1), rollbacks",
        _config_revisions,
    ),
    Migration(11, "health and drift as the periodic probe finds them", _device_health),
    Migration(
        13, "second approver: runs awaiting approval, who asked and who decided", _second_approver
    ),
    Migration(14, "notifications: webhooks, their events and delivery attempts", _webhooks),
    # 12 was meant for it, but databases reached 13 and 14 first: a step numbered below a
    # database's version would never run there
    Migration(15, "audit trail: who did what, when, from where", _audit),
]
