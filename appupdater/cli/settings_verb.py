"""`appupdater settings`: the settings a team shares through its database (as File → Settings…
shows them), and `--default-waves SPEC [--soak MIN] [--max-failures PCT]` or
`--default-all-at-once` to change the rollout strategy new runs start from (who: the
workstation's user, as `update` records the approver)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from appupdater.errors import AppUpdaterError

HELP = "show the settings shared by everyone using this database, or change them"


def add_settings_parser(verbs: Any) -> None:
    """The `settings` verb and its options, on the parser's verbs."""
    p = verbs.add_parser("settings", help=HELP)
    change = p.add_mutually_exclusive_group()
    change.add_argument(
        "--default-waves",
        metavar="SPEC",
        help="new runs start in waves of these sizes, as `update --waves` takes them "
        "(e.g. 1,10%%,rest)",
    )
    change.add_argument(
        "--default-all-at-once", action="store_true", help="new runs start all at once"
    )
    p.add_argument(
        "--soak",
        type=float,
        metavar="MINUTES",
        help="with --default-waves: the soak time between waves (default 0)",
    )
    p.add_argument(
        "--max-failures",
        type=float,
        metavar="PERCENT",
        help="with --default-waves: the failure limit that pauses a run (default 10)",
    )
    p.add_argument("--json", action="store_true", help="print the settings as JSON")


def cmd_settings(args: argparse.Namespace) -> int:
    from appupdater.core import team_settings
    from appupdater.core.identity import who
    from appupdater.core.waves import (
        DEFAULT_MAX_FAILURES_PERCENT,
        DEFAULT_SOAK_MINUTES,
        Strategy,
        parse_waves,
    )
    from appupdater.store.db import open_database

    if args.default_waves is None and (args.soak is not None or args.max_failures is not None):
        raise AppUpdaterError(
            "--soak and --max-failures need --default-waves (nothing was changed)"
        )
    strategy = None
    if args.default_waves is not None:
        strategy = Strategy(
            parse_waves(args.default_waves),
            soak_minutes=DEFAULT_SOAK_MINUTES if args.soak is None else args.soak,
            max_failures_percent=(
                DEFAULT_MAX_FAILURES_PERCENT if args.max_failures is None else args.max_failures
            ),
        )
    open_database(args.database)
    if args.default_waves is not None or args.default_all_at_once:
        team_settings.set_default_strategy(strategy, by=who().user)
    current = team_settings.default_strategy()
    changed = team_settings.last_changed()
    if args.json:
        print(
            json.dumps(
                {
                    "default_strategy": None
                    if current is None
                    else {
                        "waves": current.spec(),
                        "soak_minutes": current.soak_minutes,
                        "max_failures_percent": current.max_failures_percent,
                    },
                    "changed": None
                    if changed is None
                    else {"by": changed.by, "at": changed.at.isoformat()},
                },
                indent=2,
            )
        )
        return 0
    if current is None:
        print("Default strategy for new runs: all at once")
    else:
        print(
            f"Default strategy for new runs: in waves {current.spec()}, soak time "
            f"{current.soak_minutes:g} min, pause above {current.max_failures_percent:g} % failed"
        )
    if changed is None:
        print("Not changed yet (shared by everyone using this database)")
    else:
        at = changed.at.astimezone().strftime("%Y-%m-%d %H:%M")
        print(f"Last changed by {changed.by} on {at} (shared by everyone using this database)")
    return 0


SETTINGS_VERBS = {"settings": cmd_settings}
