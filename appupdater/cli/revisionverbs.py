"""The verbs about configuration history: `history --device NAME`, `rollback --run N` and
`revert --device NAME --to REVISION` (see docs/rollback.md). A rollback or revert is recorded
exactly as the wizard records it (`create_run` of the restoring plan, then its configuration
step), by the workstation's user; without --yes it only shows the plan."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from appupdater.cli.runverbs import add_strategy_options, strategy_of
from appupdater.errors import AppUpdaterError

if TYPE_CHECKING:
    from appupdater.core.config_history import Revision
    from appupdater.core.planning import Plan
    from appupdater.core.runs import Applied, DeviceAction
    from appupdater.core.waves import Strategy


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the three verbs on the `appupdater` parser."""
    p = verbs.add_parser("history", help="a device's configuration revisions, newest first")
    p.add_argument("--device", required=True, metavar="NAME")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = verbs.add_parser(
        "rollback",
        help="roll back a run: each device it changed goes back to its configuration before "
        "(shows the plan; --yes records the rollback run)",
    )
    p.add_argument("--run", type=int, required=True, metavar="ID")
    p.add_argument(
        "--device", action="append", metavar="NAME", help="only these devices (repeatable)"
    )
    _restore_options(p)

    p = verbs.add_parser(
        "revert",
        help="set a device's configuration back to one of its revisions (shows the plan; "
        "--yes records the run)",
    )
    p.add_argument("--device", required=True, metavar="NAME")
    p.add_argument("--to", type=int, required=True, metavar="REVISION")
    _restore_options(p)


def _restore_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--deploy",
        default="now",
        metavar="none|now|ISO-TIME",
        help="deployment action for every device (default now)",
    )
    add_strategy_options(p)
    p.add_argument("--yes", action="store_true", help="record the run without asking")
    p.add_argument("--json", action="store_true", help="print JSON")


def cmd_history(args: argparse.Namespace) -> int:
    from appupdater.cli.verbs import _open
    from appupdater.core.config_history import device_by_name, device_history

    _open(args, create=False)
    history = device_history(device_by_name(args.device))
    if args.json:
        document = {"device": args.device, "revisions": [_revision(r) for r in history]}
        print(json.dumps(document, indent=2))
    else:
        sys.stdout.writelines(_history_text(args.device, history))
    return 0


def _revision(r: Revision) -> dict[str, object]:
    return {
        "number": r.number,
        "replaced": r.replaced,
        "at": r.at.isoformat(),
        "by": r.by,
        "reason": r.reason,
        "run": r.run_id,
        "configured": r.configured,
        "changes": [
            {
                "application": c.application,
                "from": c.from_version,
                "to": c.to_version,
                "modules": [
                    {
                        "module": m.module,
                        "op": m.op.value,
                        "from": m.from_version,
                        "to": m.to_version,
                    }
                    for m in c.modules
                ],
            }
            for c in r.changes
        ],
        "deployments": [
            {
                "id": d.id,
                "run": d.run_id,
                "state": d.state.value,
                "finished_at": d.finished_at.isoformat() if d.finished_at else None,
            }
            for d in r.deployments
        ],
    }


def _history_text(device: str, history: list[Revision]) -> Iterator[str]:
    if not history:
        yield f"{device} has no configuration revisions\n"
        return
    for r in history:
        when = f"{r.at.astimezone():%Y-%m-%d %H:%M}"
        yield f"revision {r.number}  {when}  {r.by}  {r.reason}\n"
        configured = ", ".join(f"{app} {v}" for app, v in r.configured.items()) or "nothing"
        yield f"  configured: {configured}\n"
        for c in r.changes:
            modules = ", ".join(f"{m.module} {m.op.value}" for m in c.modules)
            yield (
                f"  {c.application}: {c.from_version or 'not configured'} → "
                f"{c.to_version or 'not configured'}{f' ({modules})' if modules else ''}\n"
            )
        for d in r.deployments:
            yield f"  deployment #{d.id} (run {d.run_id}): {d.state.value}\n"


def cmd_rollback(args: argparse.Namespace) -> int:
    from appupdater.cli.verbs import _open
    from appupdater.core.config_history import device_by_name
    from appupdater.core.rollback import plan_rollback

    action, strategy = _action(args), strategy_of(args)
    _open(args, create=args.yes)
    devices = [device_by_name(name) for name in args.device] if args.device else None
    plan = plan_rollback(args.run, devices)
    if devices is not None:
        named = {t.device.id for t in plan.targets} | {s.device.id for s in plan.skipped}
        missing = [n for n, d in zip(args.device, devices, strict=True) if d not in named]
        if missing:
            raise AppUpdaterError(f"not part of run {args.run}: {', '.join(missing)}")
    return _record(args, plan, action, strategy)


def cmd_revert(args: argparse.Namespace) -> int:
    from appupdater.cli.verbs import _open
    from appupdater.core.config_history import device_by_name
    from appupdater.core.rollback import plan_revert

    action, strategy = _action(args), strategy_of(args)
    _open(args, create=args.yes)
    plan = plan_revert(device_by_name(args.device), args.to)
    return _record(args, plan, action, strategy)


def _action(args: argparse.Namespace) -> DeviceAction:
    from appupdater.cli.verbs import _deploy_action

    return _deploy_action(args.deploy)


def _record(
    args: argparse.Namespace, plan: Plan, action: DeviceAction, strategy: Strategy | None
) -> int:
    """Show the plan, or with --yes record and apply the restoring run as the wizard does, and
    say which devices were skipped when planned and when applied (changed in between)."""
    from appupdater.core.identity import who
    from appupdater.core.runs import apply_configuration, create_run

    if not args.yes:
        if args.json:
            print(json.dumps(_plan_document(plan), indent=2))
        else:
            sys.stdout.writelines(_plan_text(plan))
            print("add --yes to record this run (nothing was recorded)")
        return 0
    if not plan.targets:
        reasons = "; ".join(f"{s.device.name}: {s.reason}" for s in plan.skipped[:3])
        raise AppUpdaterError(
            f"nothing to restore{f' ({reasons})' if reasons else ''}: nothing was recorded"
        )
    run_id = create_run(plan, approved_by=who().user, default=action, strategy=strategy)
    applied = apply_configuration(run_id)
    late = _skipped_when_applied(plan, applied)
    result = {
        "run": run_id,
        "rollback_of": plan.rollback_of,
        "reason": plan.reason,
        "configurations_updated": applied.configurations_updated,
        "deployments_created": applied.deployments_created,
        "skipped": [{"device": s.device.name, "reason": s.reason} for s in plan.skipped],
        "skipped_when_applied": [{"device": name, "reason": why} for name, why in late],
        "approval": applied.approval,  # "awaiting": a second person must approve it first
    }
    if args.json:
        print(json.dumps(result))
        return 0
    if applied.approval:
        from appupdater.cli.approval_verbs import awaiting_words

        print(awaiting_words(run_id))
        return 0
    print(
        f"run {run_id} approved ({plan.reason}): "
        f"{_count(applied.configurations_updated, 'configuration')} restored, "
        f"{_count(applied.deployments_created, 'deployment')} created"
    )
    if plan.skipped:
        print("skipped when planned:")
        for s in plan.skipped:
            print(f"  {s.device.name}: {s.app.name}: {s.reason}")
    if late:
        print("skipped when applied:")
        for name, why in late:
            print(f"  {name}: {why}")
    return 0


def _skipped_when_applied(plan: Plan, applied: Applied) -> list[tuple[str, str]]:
    """The devices the configuration step skipped (changed since planning), by name, sorted."""
    names = {d.id: d.name for d in plan.devices()}
    return sorted((names.get(d, f"device #{d}"), why) for d, why in applied.skips.items())


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _plan_document(plan: Plan) -> dict[str, object]:
    return {
        "reason": plan.reason,
        "rollback_of": plan.rollback_of,
        "targets": [
            {
                "device": t.device.name,
                "application": t.app.name,
                "from": t.from_version.text,
                "to": t.to_version.text,
            }
            for t in plan.targets
        ],
        "skipped": [
            {"device": s.device.name, "application": s.app.name, "reason": s.reason}
            for s in plan.skipped
        ],
    }


def _plan_text(plan: Plan) -> Iterator[str]:
    yield f"{plan.reason}: {_count(len(plan.devices()), 'device')}\n"
    for t in plan.targets:
        yield f"  {t.device.name}: {t.app.name} {t.from_version.text} → {t.to_version.text}\n"
    if plan.skipped:
        yield "skipped:\n"
        for s in plan.skipped:
            yield f"  {s.device.name}: {s.app.name}: {s.reason}\n"


REVISION_VERBS: dict[str, Callable[[argparse.Namespace], int]] = {
    "history": cmd_history,
    "rollback": cmd_rollback,
    "revert": cmd_revert,
}
