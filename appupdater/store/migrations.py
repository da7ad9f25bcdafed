"""Schema versions: one growing chain of numbered steps.

A new database gets the current schema straight from the models and is stamped with
`LATEST_VERSION`. An older one is copied aside (SQLite) and then brought forward one step at a
time, each step and its version stamp inside one transaction. A database stamped with a version
newer than this program knows is refused untouched.

To change the schema: change the models, append a `Migration` that turns the previous schema into
the new one (playhouse.migrate's `SchemaMigrator` helps), and bump nothing else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import peewee
from playhouse.migrate import SchemaMigrator, migrate

from appupdater import __version__
from appupdater.errors import DatabaseError, SchemaTooNewError, SchemaTooOldError
from appupdater.store.models import (
    ALL_MODELS,
    ChangeCounter,
    Deployment,
    Device,
    EngineInstance,
    Module,
    SchemaInfo,
    Target,
)
from appupdater.store.revisions import create_counters

log = logging.getLogger("appupdater.store")


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


MIGRATIONS: list[Migration] = [
    Migration(1, "initial schema", _baseline),
    Migration(2, "cancel flag on deployments, engine instances", _engine_coordination),
    Migration(3, "change counter for pollers instead of a time window", _revisions),
    Migration(4, "module artifacts, device agent connections", _device_agents),
    Migration(5, "what a target's device ran when its run was approved", _installed_at_approval),
    Migration(6, "claim tokens and heartbeat counters instead of clocks", _clock_free_leases),
]


def latest_version() -> int:
    return MIGRATIONS[-1].version


def schema_version(database: peewee.Database) -> int | None:
    """The stamped version, or None for a database without our schema."""
    if not database.table_exists(SchemaInfo._meta.table_name):
        return None
    row = SchemaInfo.select(SchemaInfo.version).order_by(SchemaInfo.id.desc()).first()
    return row.version if row else None


def ensure_schema(database: peewee.Database, *, upgrade: bool = True) -> None:
    """Create or migrate the schema of the (already bound) database; see the module docstring.
    Without `upgrade` (reading commands) an older schema is refused, not migrated."""
    current = schema_version(database)
    latest = latest_version()
    if current is None:
        with database.atomic():
            database.create_tables(ALL_MODELS)
            create_counters(database)
            _stamp(latest)
        log.info("created schema version %d", latest)
        return
    if current > latest:
        raise SchemaTooNewError(
            f"the database {database.database} has schema version {current}, written by a newer "
            f"App Updater; this version ({__version__}) understands up to {latest}. "
            "Upgrade App Updater, or open another database."
        )
    if current == latest:
        return
    if not upgrade:
        raise SchemaTooOldError(
            f"the database {database.database} has schema version {current}; this App Updater "
            f"({__version__}) needs {latest}, and a reading command does not upgrade it: nothing "
            "was changed. Open App Updater or run `appupdater import`/`update` to upgrade it (a "
            "copy is kept beside it first)."
        )
    backup = backup_before_migration(database, current)
    for step in MIGRATIONS:
        if step.version <= current:
            continue
        try:
            with database.atomic():
                step.apply(database)
                _stamp(step.version)
        except peewee.DatabaseError as exc:
            where = f"; a copy from before the migration is at {backup}" if backup else ""
            raise DatabaseError(
                f"migrating the database to schema version {step.version} "
                f"({step.description}) failed: {exc}{where}"
            ) from exc
        log.info("migrated schema to version %d (%s)", step.version, step.description)


def _stamp(version: int) -> None:
    SchemaInfo.delete().execute()
    SchemaInfo.create(version=version, written_by=__version__)


def backup_before_migration(database: peewee.Database, version: int) -> Path | None:
    """Copy a SQLite database file aside (consistent even in WAL mode); None for servers."""
    if not isinstance(database, peewee.SqliteDatabase) or database.database == ":memory:":
        return None
    source = Path(database.database)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = source.with_name(f"{source.name}.schema{version}-{stamp}.bak")
    # it holds the device tokens: private (0600) from the start; VACUUM INTO fills an empty file
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    # peewee's stubs leave Database.execute_sql unannotated
    database.execute_sql("VACUUM INTO ?", (str(target),))  # type: ignore[no-untyped-call]
    log.info("copied the database to %s before migrating", target)
    return target
