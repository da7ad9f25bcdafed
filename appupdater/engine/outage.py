"""The database going away and coming back, as the engine's threads live through it.

The dispatcher keeps one connection (`Kept`) instead of opening one per step: an idle engine
opens none. A connection that broke (the server restarted, the network dropped) is dropped
after the failed step; the next query opens a new one. An outage is logged
once when it starts, with the reason, and once when it ends, not once per failed step.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import peewee

from appupdater.core.words import plural
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


class Kept:
    """One connection kept across the calls a Qt pool thread runs. peewee keeps each thread's
    connection in a thread-local, but Python forgets a Qt thread's thread-locals when a call
    from Qt returns, so each call would open a new connection. Use it always on the same
    thread (SQLite connections refuse others): a pool of one thread that never expires, and
    closed there before the pool's waitForDone, which ends that thread."""

    def __init__(self) -> None:
        self._conn: Any = None
        self._database: Any = None

    @contextlib.contextmanager
    def using(self) -> Iterator[None]:
        database = db.obj
        if self._conn is not None and self._database is not database:
            self._forget()  # the database was replaced (opened again): its connection goes
        if self._conn is not None and database.is_closed():
            database._state.set_connection(self._conn)
        try:
            yield
        finally:
            open_ = database is not None and not database.is_closed()
            self._conn = database._state.conn if open_ else None
            self._database = database if open_ else None

    def close(self) -> None:
        """Close the kept connection, whatever database is bound now (on its thread)."""
        if self._conn is not None and self._database is db.obj:
            with self.using():
                drop_connection()
        self._forget()

    def _forget(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                self._conn.close()
        self._conn = self._database = None


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


def say_unrecorded(count: int) -> None:
    """At stop, about the ends still not written (the database stayed away)."""
    if count:
        log.warning(
            "the end of %s could not be recorded; another engine queues %s again once this "
            "one's heartbeat is missed",
            plural(count, "deployment"),
            "it" if count == 1 else "them",
        )


def reason(exc: BaseException) -> str:
    """The first line of what the driver said."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].rstrip(".")


class OutageLog:
    """Says once that the database is unavailable and once that it is back, timed on `timer`
    (seconds, monotonic)."""

    def __init__(self, timer: Callable[[], float], what: str = "database"):
        self.timer = timer
        self.what = what
        self.since: float | None = None

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = self.timer()
            log.warning(
                "%s unavailable: %s; retrying at every step, nothing is lost",
                self.what,
                reason(exc),
            )

    def worked(self) -> None:
        if self.since is not None:
            seconds = max(0.0, self.timer() - self.since)
            self.since = None
            log.info("%s back after %s", self.what, _seconds(seconds))


def _seconds(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s"
