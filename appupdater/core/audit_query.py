"""Reading the audit trail: one filter for the Audit log window and `appupdater audit`.

Entries come newest first, in pages read by key — (at, id) of the last row shown — so a window
never loads a 100,000-entry history at once and a page deep down costs what the first does. The
indexes on `at`, `(user, at)` and `(action, at)` serve the orders and filters here."""

from __future__ import annotations

import csv
import functools
import json
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO, cast

import peewee

from appupdater.core.csvcells import safe_row
from appupdater.store.rows import tuples
from appupdater.store.team_models import AuditEntry

PAGE = 200  # entries per read of the window
MOST_IDS = 900  # ids per IN list (SQLite limits the variables of one statement)

CSV_HEADER = (
    "time (UTC)",
    "time (local)",
    "user",
    "OS user",
    "host",
    "action",
    "objects",
    "run",
    "note",
    "outcome",
)


@dataclass(frozen=True)
class AuditFilter:
    """Which entries: at or after `since`, before `until`, by `user`, of `action` (None: any),
    with `text` in the objects, note, outcome, user, OS user or host (case-insensitive)."""

    since: datetime | None = None
    until: datetime | None = None
    user: str | None = None
    action: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Entry:
    """One audit entry as read."""

    id: int
    at: datetime
    user: str
    os_user: str
    host: str
    action: str
    objects: dict[str, list[int | str]]
    run: int | None
    note: str
    outcome: str

    @property
    def key(self) -> tuple[datetime, int]:
        """Where the entry stands in the newest-first order."""
        return (self.at, self.id)

    def who(self) -> str:
        """The user, and the OS user when it is another name (PostgreSQL roles)."""
        if self.os_user and self.os_user != self.user:
            return f"{self.user} (OS user {self.os_user})"
        return self.user


_KINDS = ("runs", "deployments", "devices")  # first, in this order; any other after, by name


def objects_text(objects: Mapping[str, Sequence[int | str]], most: int | None = None) -> str:
    """`run #12; deployments #3, #4; device edge-01`: what an entry touched, in words. With
    `most`, each kind lists at most that many and says how many more."""
    parts = []
    for kind in sorted(objects, key=lambda k: (_KINDS.index(k) if k in _KINDS else 9, k)):
        values = objects[kind]
        name = kind[:-1] if len(values) == 1 and kind.endswith("s") else kind
        shown = [f"#{v}" if isinstance(v, int) else str(v) for v in values[:most]]
        if most is not None and len(values) > most:
            shown.append(f"… {len(values) - most:,} more")
        parts.append(f"{name} {', '.join(shown)}" if shown else name)
    return "; ".join(parts)


_COLUMNS = (
    AuditEntry.id,
    AuditEntry.at,
    AuditEntry.user,
    AuditEntry.os_user,
    AuditEntry.host,
    AuditEntry.action,
    AuditEntry.objects,
    AuditEntry.run,
    AuditEntry.note,
    AuditEntry.outcome,
)
_Row = tuple[int, datetime, str, str, str, str, dict[str, list[int | str]], int | None, str, str]


def _containing(field: peewee.Field, text: str) -> peewee.Expression:
    """`field` contains `text`: ILIKE on PostgreSQL, LIKE (case-insensitive for ASCII) on
    SQLite, with % and _ matched as themselves. The pattern bypasses the field's converter
    (a JSON field would quote it)."""
    escaped = text.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    pattern = peewee.NodeList(
        (
            peewee.Value(f"%{escaped}%", converter=False),
            peewee.SQL("ESCAPE"),
            peewee.Value("\\", converter=False),
        )
    )
    return peewee.Expression(field, peewee.OP.ILIKE, pattern)


def _where(spec: AuditFilter) -> peewee.Expression | None:
    terms: list[peewee.Expression] = []
    if spec.since is not None:
        terms.append(AuditEntry.at >= spec.since)
    if spec.until is not None:
        terms.append(AuditEntry.at < spec.until)
    if spec.user is not None:
        terms.append(AuditEntry.user == spec.user)
    if spec.action is not None:
        terms.append(AuditEntry.action == spec.action)
    text = spec.text.strip()
    if text:
        # objects are JSON text, so a device name or a run number matches
        fields = (
            AuditEntry.note,
            AuditEntry.objects,
            AuditEntry.outcome,
            AuditEntry.user,
            AuditEntry.os_user,
            AuditEntry.host,
        )
        matches = [_containing(f, text) for f in fields]
        stored = json.dumps(text)[1:-1]  # as the JSON text holds it: "Ü" is "\u00dc" there
        if stored != text:
            matches.append(_containing(AuditEntry.objects, stored))
        terms.append(functools.reduce(operator.or_, matches))
    return functools.reduce(operator.and_, terms) if terms else None


def _select(spec: AuditFilter, *columns: peewee.Node) -> peewee.ModelSelect[AuditEntry]:
    query = AuditEntry.select(*columns)
    where = _where(spec)
    return query if where is None else query.where(where)


def entries(
    spec: AuditFilter, after: tuple[datetime, int] | None = None, limit: int | None = PAGE
) -> list[Entry]:
    """The entries `spec` matches, newest first, starting below the key `after` (the last one
    of the page before); at most `limit` (None: all)."""
    query = _select(spec, *_COLUMNS).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if after is not None:
        at, entry_id = after
        query = query.where(
            (AuditEntry.at < at) | ((AuditEntry.at == at) & (AuditEntry.id < entry_id))
        )
    if limit is not None:
        query = query.limit(limit)
    return [Entry(*row) for row in cast("Iterable[_Row]", query.tuples())]


def by_ids(spec: AuditFilter, ids: Sequence[int]) -> list[Entry]:
    """The entries among `ids` that `spec` matches, newest first (what a look of the open
    window found: core/audit_follow.py; ids are not commit order, so "newer than an id" is not
    a question to ask)."""
    found: list[Entry] = []
    for start in range(0, len(ids), MOST_IDS):
        chunk = list(ids[start : start + MOST_IDS])
        query = _select(spec, *_COLUMNS).where(AuditEntry.id.in_(chunk))
        found.extend(Entry(*row) for row in cast("Iterable[_Row]", query.tuples()))
    return sorted(found, key=lambda e: e.key, reverse=True)


def count(spec: AuditFilter) -> int:
    """How many entries `spec` matches."""
    return int(_select(spec).count())


def latest_id() -> int:
    """The id of the newest entry written (0 for none): a cheap look for anything new."""
    value = AuditEntry.select(peewee.fn.MAX(AuditEntry.id)).scalar()
    return int(value or 0)


def users() -> list[str]:
    """Every user with an entry, sorted (the user filter's choices)."""
    query = AuditEntry.select(AuditEntry.user).distinct().order_by(AuditEntry.user)
    return [user for (user,) in tuples(query, tuple[str])]


def actions() -> list[str]:
    """Every action with an entry, sorted (the action filter's choices)."""
    query = AuditEntry.select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    return [action for (action,) in tuples(query, tuple[str])]


def all_entries(spec: AuditFilter, page: int = 2000) -> Iterator[Entry]:
    """Every entry `spec` matches, newest first, read a page at a time."""
    after: tuple[datetime, int] | None = None
    while True:
        rows = entries(spec, after, page)
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].key


def csv_row(entry: Entry) -> list[str]:
    """One entry as a CSV row under CSV_HEADER: the time in UTC (ISO 8601, `Z`) for programs
    and in the workstation's local time (with its offset) for people; objects in words."""
    at = entry.at.astimezone(UTC)
    return [
        at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        at.astimezone().isoformat(sep=" ", timespec="seconds"),
        entry.user,
        entry.os_user,
        entry.host,
        entry.action,
        objects_text(entry.objects),
        "" if entry.run is None else str(entry.run),
        entry.note,
        entry.outcome,
    ]


def write_csv(spec: AuditFilter, out: TextIO, limit: int | None = None) -> int:
    """Write the entries `spec` matches to `out` as CSV with a header row, newest first; the
    number written. `out` should be opened with newline="" (the csv module's line ends)."""
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    written = 0
    for entry in all_entries(spec):
        if limit is not None and written >= limit:
            break
        writer.writerow(safe_row(csv_row(entry)))  # a note is never run as a formula
        written += 1
    return written
