"""This machine's clock against the database server's (PostgreSQL): the offset every stamp is
corrected by (`fields.utcnow`). Workstations sharing a server then agree on when things
happened whatever their own clocks say; a clock more than `WARN_AFTER` off is logged once, in
words. On SQLite the database has no clock of its own: the offset stays zero."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import peewee

from appupdater.store.bulk import is_postgres
from appupdater.store.fields import server_offset, set_server_offset

log = logging.getLogger("appupdater.store")

WARN_AFTER = timedelta(seconds=30)
NOISE = timedelta(milliseconds=500)  # a round trip's uncertainty: not worth correcting
REMEASURE_S = 60.0

_measured_at: float | None = None
_warned = False


def describe_offset(offset: timedelta) -> str:
    """ "4 min 30 s ahead of", "12 s behind" (this machine against the server)."""
    seconds = round(abs(offset.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{seconds} s"]
    amount = " ".join(p for p in parts if p and p != "0 s") or "0 s"
    return f"{amount} {'ahead of' if offset > timedelta(0) else 'behind'}"


def measure(database: peewee.Database) -> timedelta:
    """Read the server's clock (PostgreSQL) and set the offset; returns it. Taken at the
    middle of the round trip; under `NOISE` it is zero."""
    global _measured_at, _warned
    _measured_at = time.monotonic()
    if not is_postgres(database):
        set_server_offset(timedelta(0))
        return timedelta(0)
    before = datetime.now(UTC)
    cursor = database.execute_sql("SELECT clock_timestamp()")  # type: ignore[no-untyped-call]
    server: datetime = cursor.fetchone()[0]
    after = datetime.now(UTC)
    offset = server.astimezone(UTC) - (before + (after - before) / 2)
    if abs(offset) < NOISE:
        offset = timedelta(0)
    set_server_offset(offset)
    if abs(offset) > WARN_AFTER and not _warned:
        _warned = True
        log.warning(
            "this machine's clock is %s the database server's: App Updater stamps what it "
            "records with the server's time; set this machine's clock right (NTP)",
            describe_offset(-offset),
        )
    return offset


def refresh(database: peewee.Database) -> timedelta:
    """`measure` again once `REMEASURE_S` passed since the last time (clocks drift, and are
    set right); the offset as it stands otherwise. A failed read keeps the last offset."""
    if _measured_at is not None and time.monotonic() - _measured_at < REMEASURE_S:
        return server_offset()
    try:
        measured: timedelta = measure(database)
        return measured
    except peewee.DatabaseError as exc:
        log.debug("could not read the database server's clock: %s", exc)
        return server_offset()
