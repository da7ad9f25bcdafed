"""Opening the database: where it lives, SQLite pragmas, PostgreSQL URLs, migration on open."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import peewee
from playhouse.db_url import connect as connect_url

from appupdater.errors import DatabaseBusyError, DatabaseError
from appupdater.store.models import db

log = logging.getLogger("appupdater.store")

ENV_VAR = "APPUPDATER_DATABASE"
BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
    "synchronous": "normal",
    "cache_size": -32_000,  # 32 MB
}


def data_dir() -> Path:
    """The per-user data directory: ``$XDG_DATA_HOME/appupdater``, by default
    ``~/.local/share/appupdater``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "appupdater"


def default_location() -> str:
    """The database used when none is named: `APPUPDATER_DATABASE`, else in the data dir."""
    return os.environ.get(ENV_VAR) or str(data_dir() / "appupdater.sqlite3")


def is_url(location: str) -> bool:
    return "://" in location


def make_database(location: str) -> peewee.Database:
    """A (not yet connected) peewee database for a SQLite path or a database URL."""
    if is_url(location):
        options = {"pragmas": SQLITE_PRAGMAS} if location.startswith("sqlite:") else {}
        database: peewee.Database = connect_url(location, **options)
        return database
    path = Path(location).expanduser()
    if location != ":memory:":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create the folder {path.parent} for the database: {exc.strerror or exc}"
            ) from exc
    return peewee.SqliteDatabase(
        str(path) if location != ":memory:" else ":memory:", pragmas=SQLITE_PRAGMAS
    )


def open_database(location: str | None = None, *, migrate: bool = True) -> peewee.Database:
    """Open the database at `location` (path or URL), bind the models to it, bring its schema
    up to date, and return it. Raises `DatabaseError` subclasses with a message in words."""
    from appupdater.store.migrations import ensure_schema

    location = location or default_location()
    database = make_database(location)
    try:
        database.connect(reuse_if_open=True)
    except peewee.DatabaseError as exc:
        raise DatabaseError(f"cannot open the database {describe(database)}: {exc}") from exc
    except peewee.ImproperlyConfigured as exc:
        raise DatabaseError(f"cannot open the database {location}: {exc}") from exc
    db.initialize(database)
    if migrate:
        with translate_errors(database):
            ensure_schema(database)
    log.info("opened database %s", describe(database))
    return database


def close_database() -> None:
    if db.obj is not None and not db.obj.is_closed():
        db.obj.close()


def describe(database: peewee.Database) -> str:
    """A human name for the database: the SQLite path, or the server and database name."""
    if isinstance(database, peewee.SqliteDatabase):
        path: str = database.database
        return path
    params = database.connect_params
    host = params.get("host", "localhost")
    return f"{database.database} on {host}"


class translate_errors:
    """Context manager turning driver errors about locks and files into `DatabaseError`s."""

    def __init__(self, database: peewee.Database | None = None) -> None:
        self.database = database

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if exc is None or not isinstance(exc, peewee.DatabaseError | sqlite3.DatabaseError):
            return False
        if isinstance(exc, peewee.IntegrityError | sqlite3.IntegrityError):
            return False  # a bug of ours, not a problem of the environment
        where = describe(self.database or db.obj)
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise DatabaseBusyError(
                f"the database {where} is locked by another program; nothing was changed. "
                "Try again when it has finished."
            ) from exc
        raise DatabaseError(f"the database {where} cannot be used: {text}") from exc


# SQLite lets one writer in at a time and makes the others sleep and poll (busy_timeout), with
# growing sleeps. Threads of this process queue on a lock instead, which wakes them at once;
# other processes still meet the busy timeout.
_sqlite_writers = threading.RLock()


@contextmanager
def writing() -> Iterator[None]:
    """A transaction for a multi-row write. On SQLite it takes the write lock up front
    (BEGIN IMMEDIATE), so a busy database fails at the start instead of half-way."""
    database = db.obj
    if isinstance(database, peewee.SqliteDatabase):
        with _sqlite_writers, database.atomic("IMMEDIATE"):
            yield
    else:
        with database.atomic():
            yield
