"""The `appupdater` command: the GUI by default, and verbs for everything worth scripting."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from appupdater.cli.parser import build_parser
from appupdater.cli.verbs import VERBS
from appupdater.errors import AppUpdaterError, FleetFileError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    if args.self_test:
        from appupdater.ui.selftest import run_self_test

        return run_self_test()
    if args.verb is None:
        from appupdater.ui.app import run_gui

        return run_gui(args.database, demo=args.demo, in_tray=args.tray)
    try:
        return VERBS[args.verb](args)
    except FleetFileError as exc:  # one line per problem of the file
        print(f"appupdater: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (e.g. `head`) went away: not an error of ours. Silence the final flush.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except Exception as exc:
        problem = problem_of(exc)
        if problem is None:
            raise  # a bug: the traceback is what a bug report needs
        print(f"appupdater: {one_line(problem)}", file=sys.stderr)
        return 1
    finally:
        _close_database()


def _close_database() -> None:
    """Close what a verb opened (a verb that opened nothing has not loaded the store)."""
    store = sys.modules.get("appupdater.store.db")
    if store is not None:
        store.close_database()


def problem_of(exc: BaseException) -> str | None:
    """What an error that escaped a verb says to the administrator, or None for a bug.
    Problems of the environment or of the input (ours, the database's, the file system's, a
    value out of range) are one line; anything else stays a traceback."""
    import sqlite3

    import peewee

    from appupdater.store.db import database_problem

    if isinstance(exc, AppUpdaterError):
        return str(exc)
    if isinstance(exc, peewee.IntegrityError | sqlite3.IntegrityError):
        return None  # a constraint we broke is a bug of ours
    if isinstance(exc, peewee.PeeweeException | sqlite3.Error) or _is_psycopg_error(exc):
        return str(database_problem(exc))
    if isinstance(exc, OSError):
        what = exc.strerror or str(exc) or type(exc).__name__
        if exc.filename is not None:
            return f"{exc.filename}: {what}"
        return what
    if isinstance(exc, ValueError | OverflowError):
        return str(exc) or type(exc).__name__
    return None


def _is_psycopg_error(exc: BaseException) -> bool:
    psycopg2 = sys.modules.get("psycopg2")  # only loaded when a PostgreSQL URL was used
    return psycopg2 is not None and isinstance(exc, psycopg2.Error)


def one_line(message: str) -> str:
    """A message that a driver wrote over several lines (PostgreSQL's "connection refused" and
    its hint), joined into one: errors on stderr are one line each."""
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())
