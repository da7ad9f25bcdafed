"""What keeps a SQLite migration safe (see migrations.py): the file copied aside first, foreign
keys off while the steps rebuild tables, and each step's references checked before its stamp."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import peewee

log = logging.getLogger("appupdater.store")


@contextmanager
def foreign_keys_off(database: peewee.Database) -> Iterator[None]:
    """SQLite: foreign keys off while the steps run. playhouse's SQLite migrator rebuilds a
    table to add a NOT NULL column (copy, drop, rename), and with foreign keys on, dropping the
    old table deletes its children's rows (ON DELETE CASCADE): schema 8 lost every target and
    deployment that way. The pragma cannot change inside a transaction, so it is set around
    them; each step's transaction checks the keys before its stamp (`check_references`)."""
    if not isinstance(database, peewee.SqliteDatabase):
        yield
        return
    database.execute_sql("PRAGMA foreign_keys = OFF")  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        database.execute_sql("PRAGMA foreign_keys = ON")  # type: ignore[no-untyped-call]


class _BrokenReferences(peewee.IntegrityError):
    """A step left rows referring to rows that do not exist (SQLite, foreign keys off)."""


def check_references(database: peewee.Database) -> None:
    """SQLite: raise `_BrokenReferences` when the step just run (foreign keys off, see
    `foreign_keys_off`) left broken references; called inside the step's transaction, before
    its stamp, so that the step is rolled back."""
    if not isinstance(database, peewee.SqliteDatabase):
        return
    broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()  # type: ignore[no-untyped-call]
    if broken:
        tables = sorted({f"{table} → {parent}" for table, _row, parent, _key in broken})
        raise _BrokenReferences(
            f"it leaves {len(broken)} broken reference{'s' if len(broken) != 1 else ''} "
            f"({', '.join(tables)})"
        )


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
