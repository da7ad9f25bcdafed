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
    except AppUpdaterError as exc:
        print(f"appupdater: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (e.g. `head`) went away: not an error of ours. Silence the final flush.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0


def one_line(message: str) -> str:
    """A message that a driver wrote over several lines (PostgreSQL's "connection refused" and
    its hint), joined into one: errors on stderr are one line each."""
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())
