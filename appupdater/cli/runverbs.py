"""The verbs about a whole run: `pause`, `resume`, `abort` and `next-wave --run N` (who: the
workstation's user, as `update` records the approver), and how `update --waves` reads its
strategy. The database is the channel: every engine on it sees the decision at its next step."""

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


def strategy_of(args: argparse.Namespace) -> Strategy | None:
    """The strategy `update --waves SPEC [--soak] [--max-failures]` asks for; None without
    --waves. Raises in words what cannot be used."""
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
    import getpass

    from appupdater.core import run_decisions
    from appupdater.store.db import open_database
    from appupdater.store.fields import utcnow

    open_database(args.database)
    by, now = getpass.getuser(), utcnow()
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
