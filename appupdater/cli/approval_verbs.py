"""The second approver on the command line: `review --run N [--json]` (what the run does),
`approve --run N [--note …] [--deploy-now-instead]`,
`reject --run N --note …`, and `policy [--second-approver on|off] [--expires-after HOURS]`
(see docs/approval.md). Who decides is the database's user (PostgreSQL) or the OS user, as for
every recorded action; `awaiting_words` is what `update`, `rollback` and `revert --yes` say of a
run recorded awaiting approval."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from appupdater.errors import AppUpdaterError


def add_parsers(verbs: Any) -> None:
    p = verbs.add_parser("approve", help="approve a run awaiting a second approver (not your own)")
    p.add_argument("--run", type=int, required=True, metavar="ID")
    p.add_argument("--note", default="", help="why (kept with the run)")
    p.add_argument(
        "--deploy-now-instead",
        action="store_true",
        help="deploy now the devices whose scheduled time passed while the run waited",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p = verbs.add_parser(
        "review",
        help="what a run does, device by device: read it before you approve or reject it",
    )
    p.add_argument("--run", type=int, required=True, metavar="ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = verbs.add_parser("reject", help="reject a run awaiting a second approver, saying why")
    p.add_argument("--run", type=int, required=True, metavar="ID")
    p.add_argument("--note", required=True, help="why it is rejected (required)")
    p = verbs.add_parser(
        "policy", help="show or change whether runs need a second person's approval"
    )
    p.add_argument("--second-approver", choices=("on", "off"))
    p.add_argument(
        "--expires-after",
        type=float,
        metavar="HOURS",
        help="an undecided request expires after this long (default 24)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def _open(args: argparse.Namespace) -> None:
    from appupdater.store.db import open_database

    open_database(args.database)


def cmd_approve(args: argparse.Namespace) -> int:
    from appupdater.core import approvals

    _open(args)
    applied = approvals.approve(
        args.run, note=args.note, deploy_now_instead=args.deploy_now_instead
    )
    result = {
        "run": args.run,
        "configurations_updated": applied.configurations_updated,
        "deployments_created": applied.deployments_created,
        "skipped": skipped_devices(applied.skips),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"run {args.run} approved: {_count(applied.configurations_updated, 'configuration')} "
            f"updated, {_count(applied.deployments_created, 'deployment')} created"
        )
        for entry in result["skipped"]:
            print(f"  {entry['device']} left as it is: {entry['why']}")
    return 0


def skipped_devices(skips: Mapping[int, str]) -> list[dict[str, str]]:
    """The devices a configuration step left as they were, by name, with why."""
    from appupdater.store.models import Device
    from appupdater.store.rows import tuples

    if not skips:
        return []
    query = Device.select(Device.id, Device.name).where(Device.id.in_(list(skips)))
    names = dict(tuples(query, tuple[int, str]))
    return sorted(
        ({"device": names.get(d, f"device #{d}"), "why": why} for d, why in skips.items()),
        key=lambda entry: entry["device"],
    )


def cmd_review(args: argparse.Namespace) -> int:
    from appupdater.core.run_review import review_json, review_run, review_text
    from appupdater.store.models import UpdateRun

    _open(args)
    if UpdateRun.get_or_none(UpdateRun.id == args.run) is None:
        raise AppUpdaterError(f"there is no update run {args.run}")
    review = review_run(args.run)
    if args.json:
        print(json.dumps(review_json(review), indent=2))
    else:
        print("".join(review_text(review)), end="")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    from appupdater.core import approvals

    _open(args)
    approvals.reject(args.run, note=args.note)
    print(f"run {args.run} rejected: nothing of it is configured or deployed")
    return 0


def cmd_policy(args: argparse.Namespace) -> int:
    from appupdater.core import team_settings
    from appupdater.core.identity import who

    _open(args)
    policy = team_settings.approval_policy()
    if args.second_approver is not None or args.expires_after is not None:
        on = (
            policy.second_approver if args.second_approver is None else args.second_approver == "on"
        )
        hours = args.expires_after
        after = policy.expires_after if hours is None else _hours(hours)
        policy = team_settings.ApprovalPolicy(on, after)
        try:
            team_settings.set_approval_policy(policy, by=who().user)
        except ValueError as exc:
            raise AppUpdaterError(f"{exc} (nothing was changed)") from exc
    hours = policy.expires_after.total_seconds() / 3600
    if args.json:
        print(json.dumps({"second_approver": policy.second_approver, "expires_after_hours": hours}))
    elif policy.second_approver:
        print(f"second approver: on (an undecided request expires after {hours:g} h)")
    else:
        print("second approver: off (a run is approved when it is recorded)")
    return 0


def _hours(hours: float) -> timedelta:
    if not 0 < hours <= 24 * 30:
        raise AppUpdaterError(
            f"--expires-after {hours:g}: must be more than 0 and at most 720 hours "
            "(nothing was changed)"
        )
    return timedelta(hours=hours)


def awaiting_words(run_id: int) -> str:
    """What `update --yes` (and rollback, revert) says of a run recorded awaiting approval."""
    from appupdater.store.models import UpdateRun

    run = UpdateRun.get_by_id(run_id)
    until = f"{run.expires_at.astimezone():%Y-%m-%d %H:%M}" if run.expires_at else "?"
    return (
        f"run {run_id} recorded, awaiting approval by a second person (not {run.requested_by}) "
        f"until {until}: nothing is configured or deployed before. Another user reads what it "
        f"does with `appupdater review --run {run_id}`, then approves it with `appupdater "
        f"approve --run {run_id}` or rejects it with `appupdater reject --run {run_id} --note …`."
    )


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


APPROVAL_VERBS = {
    "approve": cmd_approve,
    "review": cmd_review,
    "reject": cmd_reject,
    "policy": cmd_policy,
}
