"""Change counters: how a poller reads exactly the rows changed since its last look.

Every transaction that writes deployments takes the next value of the `deployments` counter
(`next_revision`) and stamps it on the rows it writes (`Deployment.revision`, indexed). A poller
remembers the highest revision it has seen and asks for `revision > seen`.

Why this never misses a change: the counter is bumped with an UPDATE of one row, which holds
that row's lock until the transaction ends (SQLite takes the database write lock; PostgreSQL the
row lock). So revisions are handed out in commit order: when a reader sees revision n
committed, every transaction with a smaller revision has committed too. A time window cannot
promise that — a transaction stamped earlier may commit later.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TypedDict

import peewee

from appupdater.store.models import ChangeCounter
from appupdater.store.rows import scalar

DEPLOYMENTS = "deployments"


@lru_cache(maxsize=4)
def _bump_sql(database_id: int) -> tuple[str, tuple[object, ...]]:
    sql, params = (
        ChangeCounter.update(value=ChangeCounter.value + 1)
        .where(ChangeCounter.name == DEPLOYMENTS)
        .returning(ChangeCounter.value)
        .sql()
    )
    return sql, tuple(params)


def next_revision() -> int:
    """The next revision of the deployments; call it inside the write transaction (`writing()`)
    whose rows it stamps."""
    database = ChangeCounter._meta.database
    row = database.execute_sql(*_bump_sql(id(database.obj))).fetchone()
    if row is None:  # the counter row is created with the schema; recreate it if it went
        ChangeCounter.insert(name=DEPLOYMENTS, value=1).on_conflict_ignore().execute()
        return next_revision()
    revision: int = row[0]
    return revision


class Stamp(TypedDict):
    """What `stamped` gives: keyword arguments for an update of deployments."""

    updated_at: datetime
    revision: int


def stamped(now: datetime) -> Stamp:
    """The columns every write to deployments sets: when, and the transaction's revision. Call
    it inside the write transaction."""
    return {"updated_at": now, "revision": next_revision()}


def current_revision() -> int:
    """The newest revision handed out (read it before reading rows: see the module docstring)."""
    query = ChangeCounter.select(ChangeCounter.value).where(ChangeCounter.name == DEPLOYMENTS)
    return scalar(query, int) or 0


def create_counters(database: peewee.Database) -> None:
    """The counter rows a new (or migrated) schema starts with."""
    ChangeCounter.insert(name=DEPLOYMENTS, value=0).on_conflict_ignore().execute()
