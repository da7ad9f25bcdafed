"""The database going away and coming back, as the engine's threads live through it.

A connection that broke (the server restarted, the network dropped) is dropped after the
failed write; the next query opens a new one.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable

import peewee

from appupdater.errors import DatabaseError
from appupdater.store.models import db

log = logging.getLogger("appupdater.engine")


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be used (down, unreachable, locked), rather
    than a bug of ours (a constraint broken)."""
    if isinstance(exc, peewee.IntegrityError | sqlite3.IntegrityError):
        return False
    return isinstance(
        exc, DatabaseError | peewee.DatabaseError | peewee.InterfaceError | sqlite3.Error
    )


def drop_connection() -> None:
    """Forget this thread's connection, which may be broken; the next query opens a new one.
    Only outside a transaction (every caller is)."""
    database = db.obj
    if database is not None:
        with contextlib.suppress(Exception):  # closing a broken connection may fail: it is gone
            database.close()


def retried(write: Callable[[], object]) -> None:
    """`write` on this thread's connection, and once more on a new one if the database was
    away meanwhile (the old connection broke)."""
    try:
        write()
    except Exception as exc:
        if not is_outage(exc):
            raise
        drop_connection()
        write()


def reason(exc: BaseException) -> str:
    """The first line of what the driver said."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
