"""The verbs about a whole run: `pause`, `resume`, `abort` and `next-wave --run N` (who: the
workstation's user, as `update` records the approver), and how `update`, `rollback` and `revert`
take and read `--waves`. The database is the channel: every engine on it sees the decision at its
next step."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from appupdater.core.waves import (
    DEFAULT_MAX_FAILURES_PERCENT,
    DEFAULT_SOAK_MINUTES,
    Strategy,
    parse_waves,
)
from appupdater.errors import AppUpdaterError


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def add_strategy_options(p: argparse.ArgumentParser) -> None:
    """`--waves SPEC [--soak MINUTES] [--max-failures PERCENT]`, as `update`, `rollback` and
    `revert` take them (read by `strategy_of`)."""
    p.add_argument(
        "--waves",
        metavar="SPEC",
        help="deploy in waves: their sizes, each a number of devices or a percentage of those "
        "deployed now, the last possibly 'rest' (e.g. 1,10%%,50%%,rest); default: all at once",
    )
    p.add_argument(
        "--soak",
        type=float,
        metavar="MINUTES",
        help="with --waves: wait this long after a wave finished before the next opens (default 0)",
    )
    p.add_argument(
        "--max-failures",
        type=float,
        metavar="PERCENT",
        help="with --waves: pause the run when more than this share of its finished "
        "deployments failed (default 10)",
    )


def strategy_of(args: argparse.Namespace) -> Strategy | None:
    """The strategy `--waves SPEC [--soak] [--max-failures]` asks for (`update`, `rollback`,
    `revert`); None without --waves. Raises in words what cannot be used."""
    if args.waves is None:
        if args.soak is not None or args.max_failures is not None:
            raise AppUpdaterError("--soak and --max-failures need --waves (nothing was recorded)")
        return None
    return Strategy(
        parse_waves(args.waves),
        soak_minutes=DEFAULT_SOAK_MINUTES if args.soak is None else args.soak,
        max_failures_percent=(
            DEFAULT_MAX_FAILURES_PERCENT if args.max_failures is None else args.max_failures
        ),
    )


def _decide(args: argparse.Namespace, verb: str) -> int:
    from appupdater.core import run_decisions
    from appupdater.core.identity import who
    from appupdater.store.db import open_database
    from appupdater.store.fields import utcnow

    open_database(args.database)
    by, now = who().user, utcnow()
    if verb == "pause":
        decision = run_decisions.pause(args.run, by, now, args.reason)
    elif verb == "resume":
        decision = run_decisions.resume(args.run, by, now)
    elif verb == "abort":
        decision = run_decisions.abort(args.run, by, now)
    else:
        decision = run_decisions.next_wave(args.run, by, now)
    message = decision.message
    if verb == "abort" and decision.changed:
        message += f": {_count(len(decision.cancelled), 'deployment')} cancelled"
        if decision.asked_to_stop:
            message += f", {len(decision.asked_to_stop)} running asked to stop"
    print(message)
    return 0


def _verb(name: str) -> Callable[[argparse.Namespace], int]:
    return lambda args: _decide(args, name)


RUN_VERBS: dict[str, Callable[[argparse.Namespace], int]] = {
    name: _verb(name) for name in ("pause", "resume", "abort", "next-wave")
}
