"""`appupdater audit [--since ISO] [--until ISO] [--user U] [--action A] [--search TEXT]
[--json] [--csv FILE] [--limit N]`: who did what, newest first (docs/audit.md), with the filter
of the Audit log window (core/audit_query.py)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta
from typing import Any, TextIO

HELP = "who did what and when: the audit trail, newest first (see docs/audit.md)"
TABLE_LIMIT = 100  # entries the terminal table shows unless --limit says otherwise

EPILOG = f"""\
Times: ISO 8601, e.g. 2026-11-28, 2026-11-28T14:00 or 2026-11-28T13:00Z. Without an offset a
time is the workstation's local time. --since includes its moment; --until excludes it, and a
date alone as --until means the end of that day.

Output: a table in local time ({TABLE_LIMIT} newest entries unless --limit N; --limit 0 shows
all); --json prints one JSON array of objects (time in UTC as "at", "user", "os_user", "host",
"action", "objects", "run", "note", "outcome"), every entry unless --limit; --csv FILE writes
CSV (UTF-8, a header row, times in UTC and local time; FILE - is standard output)."""


def _moment(text: str, *, end_of_day: bool = False) -> datetime:
    try:
        if len(text.strip()) == 10:  # a date alone
            day = date.fromisoformat(text.strip())
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time()).astimezone()
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date or time (e.g. 2026-11-28 or 2026-11-28T14:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def _since(text: str) -> datetime:
    return _moment(text)


def _until(text: str) -> datetime:
    return _moment(text, end_of_day=True)


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of entries (0: all)")
    return value


def add_audit_parser(verbs: Any) -> None:
    """The `audit` verb, on the parser's verbs."""
    p = verbs.add_parser(
        "audit",
        help=HELP,
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--since", type=_since, metavar="ISO", help="entries at or after this time")
    p.add_argument("--until", type=_until, metavar="ISO", help="entries before this time")
    p.add_argument("--user", metavar="U", help="entries by this user")
    p.add_argument("--action", metavar="A", help="entries of this action, e.g. cancel")
    p.add_argument(
        "--search",
        metavar="TEXT",
        default="",
        help="entries with TEXT in their objects, note, outcome, user or host",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON array")
    out.add_argument("--csv", metavar="FILE", help="write CSV to FILE (- : standard output)")
    p.add_argument("--limit", type=_limit, metavar="N", help="at most N entries, newest first")


def cmd_audit(args: argparse.Namespace) -> int:
    from appupdater.core import audit_query as q
    from appupdater.store.db import open_database

    if args.since and args.until and args.since >= args.until:
        print("appupdater: --since must be before --until", file=sys.stderr)
        return 2
    open_database(args.database, create=False)  # a mistyped path is not a new, empty trail
    spec = q.AuditFilter(args.since, args.until, args.user, args.action, args.search)
    limit = args.limit or None
    if args.csv is not None:
        return _csv(spec, args.csv, limit)
    if args.json:
        _json(spec, limit, sys.stdout)
        return 0
    return _table(spec, TABLE_LIMIT if args.limit is None else limit)


def _csv(spec: Any, path: str, limit: int | None) -> int:
    from appupdater.core import audit_query as q
    from appupdater.core.words import plural

    if path == "-":
        q.write_csv(spec, sys.stdout, limit)
        return 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        written = q.write_csv(spec, out, limit)
    print(f"wrote {plural(written, 'audit entry', 'audit entries')} to {path}")
    return 0


def _json(spec: Any, limit: int | None, out: TextIO) -> None:
    """A JSON array written an entry at a time, so that 100,000 entries are never all held."""
    from itertools import islice

    from appupdater.core import audit_query as q

    out.write("[")
    for n, entry in enumerate(islice(q.all_entries(spec), limit)):
        record = {
            "id": entry.id,
            "at": entry.at.isoformat(),
            "user": entry.user,
            "os_user": entry.os_user,
            "host": entry.host,
            "action": entry.action,
            "objects": entry.objects,
            "run": entry.run,
            "note": entry.note,
            "outcome": entry.outcome,
        }
        out.write(("," if n else "") + "\n  " + json.dumps(record, ensure_ascii=False))
    out.write("\n]\n")


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(spec: Any, limit: int | None) -> int:
    from appupdater.core import audit_query as q
    from appupdater.core.words import plural

    shown = q.entries(spec, limit=limit)
    if not shown:
        print("No audit entries match these filters." if spec != q.AuditFilter() else
              "No audit entries yet.")  # fmt: skip
        return 0
    header = ("TIME", "USER", "HOST", "ACTION", "RUN", "OBJECTS", "NOTE", "OUTCOME")
    rows = [
        (
            e.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            _cut(e.who(), 30),
            _cut(e.host, 20),
            e.action,
            "" if e.run is None else str(e.run),
            _cut(q.objects_text(e.objects, most=3), 40),
            _cut(e.note, 40),
            _cut(e.outcome, 40),
        )
        for e in shown
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    if limit is not None and len(shown) == limit:
        total = q.count(spec)
        if total > limit:
            print(
                f"\nThe newest {limit:,} of {plural(total, 'entry', 'entries')}; "
                "--limit N shows more, --limit 0 all."
            )
    return 0


AUDIT_VERBS = {"audit": cmd_audit}
