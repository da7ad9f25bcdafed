"""The `appupdater` command: the GUI by default, and verbs for everything worth scripting."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from appupdater import __version__
from appupdater.errors import AppUpdaterError

log = logging.getLogger("appupdater")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="appupdater",
        description="Roll out new application versions to a fleet of edge devices.",
    )
    parser.add_argument("--version", action="version", version=f"appupdater {__version__}")
    parser.add_argument(
        "--database",
        metavar="PATH|URL",
        help="SQLite file or database URL (postgresql://user@host/db); default: "
        "$APPUPDATER_DATABASE or ~/.local/share/appupdater/appupdater.sqlite3",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens to stderr")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the window on a fresh demo database (~/.local/share/appupdater/demo.sqlite3)",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    p = verbs.add_parser("import", help="import a fleet file (YAML or JSON)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = verbs.add_parser("export", help="export the catalog and fleet to a file (YAML or JSON)")
    p.add_argument("file")

    p = verbs.add_parser("plan", help="show which devices an update touches and what changes")
    p.add_argument(
        "--app",
        action="append",
        required=True,
        metavar="NAME[=VERSION]",
        help="application to update, to VERSION or the latest (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print the plan as JSON")

    p = verbs.add_parser("demo", help="fill the database with a demo catalog and fleet")
    p.add_argument("--devices", type=int, default=250, metavar="N")
    p.add_argument("--seed", type=int, default=7, metavar="S")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    if args.verb is None:
        from appupdater.ui.app import run_gui

        return run_gui(args.database, demo=args.demo)
    try:
        return VERBS[args.verb](args)
    except AppUpdaterError as exc:
        print(f"appupdater: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (e.g. `head`) went away: not an error of ours. Silence the final flush.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0


def _open(args: argparse.Namespace):
    from appupdater.store.db import open_database

    return open_database(args.database)


def cmd_import(args: argparse.Namespace) -> int:
    from appupdater.core.fleetimport import import_file

    _open(args)
    summary = import_file(args.file)
    if args.json:
        print(json.dumps(vars(summary)))
    else:
        print(f"{args.file}: {summary.describe()}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from appupdater.core.fleetimport import export_file

    _open(args)
    count = export_file(args.file)
    print(f"wrote {count} devices to {args.file}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from appupdater.core.plan_report import plan_json, plan_text
    from appupdater.core.planning import Selection, plan_update

    _open(args)
    plan = plan_update([Selection.parse(text) for text in args.app])
    if args.json:
        json.dump(plan_json(plan), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.writelines(plan_text(plan))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from appupdater.core.demo import load_demo
    from appupdater.store.db import describe

    if args.devices < 1:
        raise AppUpdaterError("--devices must be at least 1")
    database = _open(args)
    summary = load_demo(args.devices, args.seed)
    print(f"demo fleet in {describe(database)}: {summary.describe()}")
    return 0


VERBS = {"import": cmd_import, "export": cmd_export, "plan": cmd_plan, "demo": cmd_demo}
