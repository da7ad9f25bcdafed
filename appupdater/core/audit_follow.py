"""Following the audit trail while a window is open: every entry committed since the last look,
none missed, none twice (docs/audit.md).

Ids are not commit order. On PostgreSQL an id comes from a sequence when a transaction inserts,
not when it commits: T1 takes id 10, T2 takes 11 and commits first; a look that sees 11 must
still ask for 10 later. So the follower keeps *gaps* — ids below the highest one seen that were
not seen (a transaction still open, or one rolled back) — and each look asks for
`id > last OR id IN (gaps)`, in one snapshot so that the ids and the entries agree.

When is a gap final? A transaction that holds id g took it before the id above it, so it was
already open at the look that noticed the gap. On PostgreSQL that look notes the virtual
transaction ids open then (`pg_locks`, lock type `virtualxid`: every transaction holds its own
from its first statement until it ends, and `pg_locks` shows every role's, where
`pg_stat_activity` hides other roles' transaction start; xids would not do, as a transaction
gets one only at its first write, after it took the id). Once none of those is open, a look
that still does not see g will never see it: the gap is forgotten. The check costs one read of
`pg_locks`, and only while gaps exist. On SQLite one writer commits at a time, so an id below
a committed one is already final: a gap is asked for once more, then forgotten. Where the
server will not say (`pg_locks` unreadable) a gap is kept for FALLBACK_S, then forgotten. At
most MAX_GAPS are kept (the lowest dropped, with a warning in the log), so the list never grows
without bound. A look with nothing new is one read of the primary key (~0.1 ms at 100,000
entries); each gap adds an IN list read by the same key.

A window's first page starts the follower (`begin`) in the same snapshot: the ids missing among
the newest TAIL ids become gaps, so an entry whose transaction was open while the page was read
still arrives. (A transaction that stays open while more than TAIL entries are committed
after its id would be missed here: far beyond what a team's administrators do.)"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import cast

import peewee

from appupdater.core import audit_query as q
from appupdater.store.models import db
from appupdater.store.team_models import AuditEntry

TAIL = 1000  # the newest ids a first page checks for gaps
MOST = 1000  # new ids one look takes; more, and the window reads its first page again
MAX_GAPS = 900  # the ids one IN list asks for again (SQLite limits a statement's variables)
FALLBACK_S = 600.0  # how long a gap is kept where the server cannot say what is open

Monotonic = Callable[[], float]
OpenSet = frozenset[str] | None  # transactions open when a gap was noticed; None: unknown

log = logging.getLogger("appupdater")


@dataclass(frozen=True)
class Gap:
    """An id below the highest seen that was not seen, and what could still commit it."""

    id: int
    noticed: float  # monotonic seconds
    open_then: OpenSet


@dataclass(frozen=True)
class Following:
    """Where a window's following stands: the highest id seen and the gaps below it."""

    last: int = 0
    gaps: tuple[Gap, ...] = ()


@dataclass(frozen=True)
class Look:
    """What a look found: the new entries the filter matches (newest first) and the state to
    keep; `many` when more than MOST were written (read the first page again instead)."""

    entries: list[q.Entry]
    following: Following
    many: bool = False
    found: list[int] = field(default_factory=list)  # every new id, matched or not


@contextmanager
def snapshot() -> Iterator[None]:
    """One read transaction that sees one moment (SQLite's read transaction does; PostgreSQL
    needs REPEATABLE READ, as each statement of READ COMMITTED sees its own)."""
    with db.atomic():
        if _postgres():
            db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _postgres() -> bool:
    return isinstance(db.obj, peewee.PostgresqlDatabase)


def open_transactions() -> OpenSet:
    """The transactions open now: PostgreSQL's virtual transaction ids; on SQLite none can hold
    an id below a committed one (empty); None when the server will not say."""
    if not _postgres():
        return frozenset()
    try:
        rows = db.execute_sql(
            "SELECT virtualxid FROM pg_locks WHERE locktype = 'virtualxid' AND granted"
        ).fetchall()
    except peewee.DatabaseError as exc:
        log.warning("cannot tell which transactions are open (%s): audit gaps kept a while", exc)
        return None
    return frozenset(str(vxid) for (vxid,) in rows)


def _ids(query: peewee.ModelSelect[AuditEntry]) -> list[int]:
    return [int(i) for (i,) in cast("Iterable[tuple[int]]", query.tuples())]


def begin(clock: Monotonic = time.monotonic) -> Following:
    """Start following at the newest entry; call it inside the snapshot the first page is read
    in. The ids missing among the newest TAIL become gaps."""
    last = q.latest_id()
    present = set(_ids(AuditEntry.select(AuditEntry.id).where(AuditEntry.id > last - TAIL)))
    missing = [i for i in range(max(1, last - TAIL + 1), last + 1) if i not in present]
    return Following(last, _noticed(missing, clock))


def _noticed(ids: list[int], clock: Monotonic) -> tuple[Gap, ...]:
    if not ids:
        return ()
    open_now, now = open_transactions(), clock()
    return tuple(Gap(i, now, open_now) for i in ids)


def look(spec: q.AuditFilter, following: Following, clock: Monotonic = time.monotonic) -> Look:
    """The entries committed since `following` that `spec` matches, and where following stands
    after them. Run it off the GUI thread; keep the returned state only if the entries were
    shown (a look whose answer is dropped is simply made again)."""
    gaps = following.gaps
    open_now = open_transactions() if any(g.open_then for g in gaps) else frozenset()
    now = clock()

    def final(gap: Gap) -> bool:
        if gap.open_then is None or open_now is None:
            return now - gap.noticed >= FALLBACK_S
        return not gap.open_then & open_now

    settled = {g.id for g in gaps if final(g)}  # decided before the read: its last chance
    with snapshot():  # two reads by the primary key (with OR, SQLite would scan)
        ids = AuditEntry.select(AuditEntry.id)
        newer = ids.where(AuditEntry.id > following.last).order_by(AuditEntry.id)
        found = _ids(newer.limit(MOST + 1))
        if gaps:
            found = _ids(ids.where(AuditEntry.id.in_([g.id for g in gaps]))) + found
        if len(found) > MOST:
            return Look([], following, many=True)
        entries = q.by_ids(spec, found) if found else []
    seen = set(found)
    last = max([following.last, *found])
    kept = [g for g in gaps if g.id not in seen and g.id not in settled]
    new = [i for i in range(following.last + 1, last) if i not in seen]
    kept.extend(_noticed(new, clock))
    if len(kept) > MAX_GAPS:
        log.warning("%d audit ids not yet committed: the oldest are no longer asked for", len(kept))
        kept = sorted(kept, key=lambda g: g.id)[-MAX_GAPS:]
    return Look(entries, replace(following, last=last, gaps=tuple(kept)), found=found)
