"""Schema versions: one growing chain of numbered steps.

A new database gets the current schema straight from the models and is stamped with
`LATEST_VERSION`. An older SQLite file is copied aside and then brought forward one step at a
time, each step and its version stamp inside one transaction. An older server (PostgreSQL)
database, shared by a team, is migrated only by `appupdater migrate` after the administrator
backed it up, in one transaction under an advisory lock; until then it is refused with what to
do. A database stamped with a version newer than this program knows is refused untouched,
naming the App Updater version that wrote it (`SchemaInfo.written_by`).

To change the schema: change the models, append a `Migration` to migration_steps.py that turns
the previous schema into the new one (playhouse.migrate's `SchemaMigrator` helps), and bump
nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import peewee

from appupdater import __version__
from appupdater.errors import DatabaseError, SchemaTooNewError, SchemaTooOldError
from appupdater.store.migration_guards import (
    backup_before_migration,
    check_references,
    foreign_keys_off,
)
from appupdater.store.migration_steps import (
    MIGRATIONS,
    Migration,
    _catalog_references_unchecked,
)
from appupdater.store.models import SchemaInfo
from appupdater.store.revisions import create_counters
from appupdater.store.tables import ALL_MODELS

log = logging.getLogger("appupdater.store")


def latest_version() -> int:
    return MIGRATIONS[-1].version


def schema_version(database: peewee.Database) -> int | None:
    """The stamped version, or None for a database without our schema."""
    if not database.table_exists(SchemaInfo._meta.table_name):
        return None
    row = SchemaInfo.select(SchemaInfo.version).order_by(SchemaInfo.id.desc()).first()
    return row.version if row else None


@dataclass(frozen=True)
class Migrated:
    """What `ensure_schema` did to an older database: from and to which schema version, and
    where the copy from before is (SQLite only)."""

    from_version: int
    to_version: int
    backup: Path | None


def is_server(database: peewee.Database) -> bool:
    """A database on a server (PostgreSQL), shared by a team: never migrated without asking."""
    return not isinstance(database, peewee.SqliteDatabase)


def ensure_schema(
    database: peewee.Database, *, upgrade: bool = True, confirmed: bool = False
) -> Migrated | None:
    """Create or migrate the schema of the (already bound) database; see the module docstring.
    Without `upgrade` (reading commands) an older schema is refused, not migrated. A server
    database is migrated only when `confirmed` (`appupdater migrate`): otherwise its older
    schema is refused with what to do. On PostgreSQL everything happens in one transaction
    under an advisory lock, so a second process waits and then finds the schema current."""
    if not is_server(database):
        return _ensure(database, upgrade=upgrade)
    with database.atomic():
        if isinstance(database, peewee.PostgresqlDatabase):
            # waiting for another process's migration, and the schema changes themselves, may
            # take longer than the per-statement limit that keeps a hung server from freezing
            # a window; a lock that does not come within ten minutes is given up in words
            database.execute_sql("SET LOCAL statement_timeout = 0")  # type: ignore[no-untyped-call]
            database.execute_sql("SET LOCAL lock_timeout = '10min'")  # type: ignore[no-untyped-call]
            lock = "SELECT pg_advisory_xact_lock(%s)"
            database.execute_sql(lock, (SCHEMA_LOCK,))  # type: ignore[no-untyped-call]
        return _ensure(database, upgrade=upgrade and confirmed)


# The advisory lock key of schema changes on PostgreSQL ("appupdater schema" in a bigint).
SCHEMA_LOCK = 0x4150_5055_5044_5343


def pending_steps(current: int) -> list[Migration]:
    """The steps that bring schema version `current` to the latest."""
    return [step for step in MIGRATIONS if step.version > current]


def _ensure(database: peewee.Database, *, upgrade: bool) -> Migrated | None:
    current = schema_version(database)
    latest = latest_version()
    if current is None:
        with database.atomic():
            database.create_tables(ALL_MODELS)
            _catalog_references_unchecked(database)
            create_counters(database)
            _stamp(latest)
        log.info("created schema version %d", latest)
        return None
    if current > latest:
        raise SchemaTooNewError(_too_new(database, current))
    if current == latest:
        return None
    if not upgrade:
        raise SchemaTooOldError(_too_old(database, current))
    backup = backup_before_migration(database, current)
    with foreign_keys_off(database):
        _migrate(database, current, backup)
    return Migrated(current, latest, backup)


def _migrate(database: peewee.Database, current: int, backup: Path | None) -> None:
    for step in pending_steps(current):
        try:
            with database.atomic():
                step.apply(database)
                check_references(database)
                _stamp(step.version)
        except peewee.DatabaseError as exc:
            where = (
                f"; a copy from before the migration is at {backup}"
                if backup
                else "; nothing was changed"
                if is_server(database)
                else ""
            )
            raise DatabaseError(
                f"migrating the database to schema version {step.version} "
                f"({step.description}) failed: {exc}{where}"
            ) from exc
        log.info("migrated schema to version %d (%s)", step.version, step.description)


def _too_new(database: peewee.Database, current: int) -> str:
    from appupdater.store.db import describe

    row = SchemaInfo.select(SchemaInfo.written_by).order_by(SchemaInfo.id.desc()).first()
    written = row.written_by if row else ""
    if _version_key(written) > _version_key(__version__):
        install = f"written by App Updater {written}; install it or later"
    else:
        install = (
            f"written by a newer build of App Updater that still calls itself {written or '?'}"
            "; install that build or a later one"
        )
    return (
        f"the database {describe(database)} has schema version {current}, newer than this App "
        f"Updater ({__version__}) understands (up to {latest_version()}): {install}, or open "
        "another database. Nothing was changed."
    )


def _version_key(text: str) -> tuple[int, ...]:
    """The numeric release part of a version (``0.2.1-rc.1`` → (0, 2, 1)); () if none."""
    release = text.split("+")[0].split("-")[0].lstrip("v")
    return tuple(int(part) for part in release.split(".") if part.isdigit())


def _too_old(database: peewee.Database, current: int) -> str:
    from appupdater.store.db import describe
    from appupdater.store.migration_plan import pg_dump_command

    where = describe(database)
    needs = (
        f"the database {where} has schema version {current}; this App Updater ({__version__}) "
        f"needs {latest_version()}"
    )
    if is_server(database):
        return (
            f"{needs}, and it does not change a shared database on its own: nothing was changed."
            f" Back it up first ({pg_dump_command(database, current)}), then run "
            "`appupdater migrate` against it."
        )
    return (
        f"{needs}, and a reading command does not upgrade it: nothing was changed. Open App "
        "Updater or run `appupdater import`/`update`/`migrate` to upgrade it (a copy is kept "
        "beside it first)."
    )


def _stamp(version: int) -> None:
    SchemaInfo.delete().execute()
    SchemaInfo.create(version=version, written_by=__version__)
