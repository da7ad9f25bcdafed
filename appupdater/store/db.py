"""Opening the database: where it lives, SQLite pragmas, PostgreSQL URLs, migration on open."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import peewee
from playhouse.db_url import connect as connect_url

from appupdater.errors import (
    DatabaseBusyError,
    DatabaseError,
    ForeignDatabaseError,
    NoDatabaseError,
)
from appupdater.store.models import SchemaInfo, db
from appupdater.store.postgres import (
    POSTGRES_SCHEMES,
    PostgresDatabase,
    is_url,
    open_postgres,
    redact,
    scrub,
)

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


def make_database(location: str, *, create: bool = True) -> peewee.Database:
    """A (not yet connected) peewee database for a SQLite path or a database URL. A SQLite file
    that does not exist yet is created here, empty and private (see `prepare_file`), unless
    `create` is false: then it is `NoDatabaseError`."""
    scheme = location.partition("://")[0].lower() if is_url(location) else ""
    if scheme in POSTGRES_SCHEMES:
        return open_postgres(location)
    if scheme and scheme != "sqlite":
        raise DatabaseError(
            f"the database URL {redact(location)} has an unknown scheme {scheme!r}: give a "
            "SQLite file path, sqlite:///PATH or postgresql://USER@HOST/NAME"
        )
    if scheme:
        try:
            database: peewee.Database = connect_url(location, pragmas=SQLITE_PRAGMAS)
        except (RuntimeError, ValueError, peewee.ImproperlyConfigured) as exc:
            why = str(exc).rstrip(".")
            raise DatabaseError(f"cannot use the database URL {redact(location)}: {why}") from exc
    else:
        database = peewee.SqliteDatabase(
            str(Path(location).expanduser()) if location != ":memory:" else ":memory:",
            pragmas=SQLITE_PRAGMAS,
        )
    if isinstance(database, peewee.SqliteDatabase) and database.database not in ("", ":memory:"):
        prepare_file(Path(database.database), create=create)
    return database


def prepare_file(path: Path, *, create: bool) -> None:
    """Agent tokens live in the database, so its folder is 0700 and the file 0600 from the
    start: created here with those modes before SQLite opens it (SQLite gives its -wal and -shm
    files the database file's mode). A looser file, its companions, or our own data folder are
    tightened, and that is logged once."""
    if path.is_dir():
        raise DatabaseError(f"the database {path} is a folder; name a file inside it")
    if path.exists():
        if not create and path.stat().st_size == 0:
            raise NoDatabaseError(
                f"the database {path} is empty; nothing was created. Import a fleet file or "
                "run `appupdater demo` first"
            )
        _refuse_foreign_file(path)
        _tighten(path)
        return
    if not create:
        raise NoDatabaseError(
            f"no database at {path}; nothing was created. Import a fleet file or run "
            "`appupdater demo` to create one, or name another with --database"
        )
    try:
        _make_folders(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it a moment ago
    except OSError as exc:
        raise DatabaseError(
            f"cannot create the database {path}: {exc.strerror or exc}"
            if path.parent.is_dir()
            else f"cannot create the folder {path.parent} for the database: {exc.strerror or exc}"
        ) from exc
    os.close(fd)


def _refuse_foreign_file(path: Path) -> None:
    """Look into an existing SQLite file read-only, before our pragmas (WAL) change a byte of
    it: another program's database is refused untouched. Files SQLite cannot read this way are
    left to the real opening, which says what is wrong with them."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as raw:
            rows = raw.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
    except sqlite3.Error:
        return
    tables = [name for (name,) in rows]
    if tables and SchemaInfo._meta.table_name not in tables:
        raise _foreign(str(path), tables)


def _foreign(where: str, tables: list[str]) -> ForeignDatabaseError:
    shown = ", ".join(tables[:3]) + (f" and {len(tables) - 3} more" if len(tables) > 3 else "")
    return ForeignDatabaseError(
        f"{where} is not an App Updater database (it holds other tables: {shown}); nothing "
        "was changed. Choose another database file."
    )


def _make_folders(folder: Path) -> None:
    """Create `folder` and any missing parents 0700 (as the XDG base directory spec asks)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        try:
            each.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another App Updater starting at the same moment made it
        os.chmod(each, 0o700)  # mkdir's mode is filtered by the umask; this is the exact mode


_tightened: set[Path] = set()


def _tighten(path: Path) -> None:
    """Remove group and other access from an existing database, its companions and (only if it
    is ours) its folder: tokens must not be readable by other users."""
    candidates = [(path, 0o600)]
    candidates += [(path.with_name(path.name + end), 0o600) for end in ("-wal", "-shm")]
    if path.parent.resolve() == data_dir().resolve():
        candidates.append((path.parent, 0o700))
    changed = []
    for each, mode in candidates:
        try:
            current = each.stat().st_mode & 0o777
            if current & 0o077:
                os.chmod(each, current & mode)
                changed.append(f"{each} ({current:o} → {current & mode:o})")
        except FileNotFoundError:
            continue
        except OSError as exc:  # not ours to change: say so, and go on
            log.warning("cannot restrict the permissions of %s: %s", each, exc.strerror or exc)
    if changed and path not in _tightened:
        _tightened.add(path)
        log.warning("restricted to your user, as they hold device tokens: %s", ", ".join(changed))


def open_database(
    location: str | None = None, *, migrate: bool = True, create: bool = True
) -> peewee.Database:
    """Open the database at `location` (path or URL), bind the models to it, bring its schema
    up to date, and return it. With `create` false (read-only verbs) nothing is created: a
    missing or empty database is `NoDatabaseError`, an older schema `SchemaTooOldError` (it is
    not migrated). A database holding another program's
    tables is refused untouched. Raises `DatabaseError` subclasses with a message in words.
    The database opened before is closed first: one open database per process."""
    from appupdater.store.migrations import ensure_schema

    location = location or default_location()
    close_database()
    database = make_database(location, create=create)
    try:
        database.connect(reuse_if_open=True)
    except peewee.DatabaseError as exc:
        database.close()
        raise database_problem(exc, database, opening=True) from exc
    except peewee.ImproperlyConfigured as exc:
        raise DatabaseError(f"cannot open the database {redact(location)}: {exc}") from exc
    try:
        db.initialize(database)
        with translate_errors(database):
            _refuse_foreign(database, create=create)
            if migrate:
                ensure_schema(database, upgrade=create)
    except BaseException:
        database.close()
        raise
    from appupdater.store import dbclock

    try:
        dbclock.measure(database)
    except peewee.DatabaseError as exc:  # a stamp on this machine's clock is no reason to stop
        log.warning("could not read the database server's clock: %s", exc)
    log.info("opened database %s", describe(database))
    return database


def _refuse_foreign(database: peewee.Database, *, create: bool) -> None:
    from appupdater.store.migrations import schema_version

    tables = database.get_tables()
    if not tables:
        if not create:
            raise NoDatabaseError(
                f"the database {describe(database)} is empty; nothing was created. Import a "
                "fleet file or run `appupdater demo` first"
            )
        return
    if schema_version(database) is None:
        raise _foreign(describe(database), tables)


def close_database() -> None:
    """Close this thread's connection to the bound database (threads close their own)."""
    if db.obj is not None and not db.obj.is_closed():
        db.obj.close()


def describe(database: peewee.Database) -> str:
    """A human name for the database: the SQLite path, or the server and database name."""
    if isinstance(database, PostgresDatabase):
        return database.where
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
        raise database_problem(exc, self.database) from exc


def database_problem(
    exc: BaseException, database: peewee.Database | None = None, *, opening: bool = False
) -> DatabaseError:
    """A driver's error (peewee, sqlite3, psycopg2) as a `DatabaseError` that names the database
    and says in words what is wrong with it."""
    database = database if database is not None else db.obj
    where = describe(database) if database is not None else "in use"
    text = str(exc).strip() or type(exc).__name__
    if isinstance(database, PostgresDatabase):
        text = scrub(text, database.secrets)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return DatabaseBusyError(
            f"the database {where} is locked by another program; nothing was changed. "
            "Try again when it has finished."
        )
    if "readonly" in lowered or "read-only" in lowered:
        return DatabaseError(
            f"the database {where} is read-only ({text}); nothing was changed. Check the "
            "permissions of the file and its folder"
        )
    if "malformed" in lowered or "corrupt" in lowered:
        return DatabaseError(f"the database {where} is damaged ({text}); restore it from a backup")
    if "not a database" in lowered:
        return DatabaseError(f"{where} is not a database file ({text})")
    if "disk i/o" in lowered or "disk is full" in lowered or "unable to open" in lowered:
        return DatabaseError(f"the database {where} cannot be read or written: {text}")
    if opening:
        return DatabaseError(f"cannot open the database {where}: {text}")
    return DatabaseError(f"the database {where} cannot be used: {text}")


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
