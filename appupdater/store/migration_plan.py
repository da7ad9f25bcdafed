"""What a migration of an older database will do, in words: said by `appupdater migrate` and
asked by the desktop app before it changes a shared database."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import peewee

from appupdater import __version__


@dataclass(frozen=True)
class MigrationPlan:
    """Bringing the database `where` from schema `from_version` to `to_version`."""

    where: str
    from_version: int
    to_version: int
    steps: tuple[str, ...]  # "version 6: claim tokens and …", in order
    backup_command: str | None  # pg_dump for a server database; None: a copy is kept (SQLite)

    @property
    def server(self) -> bool:
        return self.backup_command is not None

    def headline(self) -> str:
        return (
            f"App Updater {__version__} will migrate the database {self.where} from schema "
            f"version {self.from_version} to {self.to_version}"
        )

    def backup(self) -> str:
        if self.backup_command is None:
            return "A copy of the file is kept beside it first."
        return (
            f"Back it up first: {self.backup_command} (App Updater keeps no copy of a server "
            "database). The migration runs in one transaction: if it fails, nothing is changed."
        )

    def others(self) -> str:
        """What the rest of the team must do (a server database is shared)."""
        return (
            "Every other workstation and engine on this database must be upgraded to App "
            f"Updater {__version__} too: older versions refuse the migrated database and say "
            "which version to install."
        )


def migration_plan(database: peewee.Database) -> MigrationPlan | None:
    """The migration an older database needs (bound, opened without migrating); None when its
    schema is current, new, or too new (opening says what is wrong then)."""
    from appupdater.store import migrations
    from appupdater.store.db import describe

    current = migrations.schema_version(database)
    latest = migrations.latest_version()
    if current is None or current >= latest:
        return None
    return MigrationPlan(
        where=describe(database),
        from_version=current,
        to_version=latest,
        steps=tuple(
            f"version {step.version}: {step.description}"
            for step in migrations.pending_steps(current)
        ),
        backup_command=pg_dump_command(database, current)
        if migrations.is_server(database)
        else None,
    )


def pg_dump_command(database: peewee.Database, current: int) -> str:
    """How to back up a server database before migrating it, ready to paste: pg_dump with the
    host, port, user and database of the connection, never the password (pg_dump reads it
    from PGPASSWORD or ~/.pgpass as App Updater does)."""
    params = dict(database.connect_params)
    dsn = params.pop("dsn", None)
    if dsn:
        from psycopg2.extensions import parse_dsn  # type: ignore[import-untyped]

        params.update(parse_dsn(dsn))
    name = params.get("dbname") or params.get("database") or ""
    parts = ["pg_dump", "--format=custom", f"--file={name or 'appupdater'}-schema{current}.dump"]
    for option, key in (("host", "host"), ("port", "port"), ("username", "user")):
        if params.get(key):
            parts.append(f"--{option}={params[key]}")
    if name:
        parts.append(str(name))
    elif params.get("service"):
        parts.append(f"--dbname=service={params['service']}")
    return " ".join(shlex.quote(part) for part in parts)
