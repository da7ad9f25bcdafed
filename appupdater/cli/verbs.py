"""What each verb of `appupdater` does. Each imports what it needs when it runs, so that
`appupdater --version` or a mistyped option answers without loading Qt or the database."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from appupdater.cli.approval_verbs import APPROVAL_VERBS, awaiting_words
from appupdater.cli.audit_verb import AUDIT_VERBS
from appupdater.cli.migrate import cmd_migrate
from appupdater.cli.revisionverbs import REVISION_VERBS
from appupdater.cli.runverbs import RUN_VERBS
from appupdater.cli.settings_verb import SETTINGS_VERBS
from appupdater.cli.webhook_verbs import WEBHOOK_VERBS
from appupdater.errors import AppUpdaterError

if TYPE_CHECKING:
    import peewee

    from appupdater.core.planning import Selection
    from appupdater.core.runs import DeviceAction


def _count(n: int, word: str) -> str:
    """``1 device``, ``3 devices``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _open(args: argparse.Namespace, *, create: bool = True) -> peewee.Database:
    """The database named by --database (or the default). Verbs that only read pass
    `create=False`: they never create a folder, a file or a schema."""
    from appupdater.store.db import open_database

    return open_database(args.database, create=create)


def _selections(texts: list[str]) -> list[Selection]:
    from appupdater.core.planning import Selection

    return [Selection.parse(text) for text in texts]


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
    from appupdater.core.fleetexport import export_file

    _open(args, create=False)
    count = export_file(args.file)
    print(f"wrote {_count(count, 'device')} to {args.file}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from appupdater.core.plan_report import plan_json, plan_text
    from appupdater.core.planning import plan_update

    _open(args, create=False)
    plan = plan_update(_selections(args.app))
    if args.json:
        json.dump(plan_json(plan), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.writelines(plan_text(plan))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from appupdater.demo.fleet import load_demo
    from appupdater.store.db import describe

    if args.agents is not None:
        return _demo_agents(args)
    if args.devices < 1:
        raise AppUpdaterError("--devices must be at least 1")
    for name, value in (("--failure-rate", args.failure_rate), ("--offline", args.offline)):
        if value is not None and not 0 <= value <= 1:  # NaN is not between them either
            raise AppUpdaterError(f"{name} must be between 0 and 1")
    if args.latency is not None:
        _seconds("--latency", args.latency, minimum=0, maximum=MAX_SECONDS)
    database = _open(args)
    summary = load_demo(
        args.devices,
        args.seed,
        latency_s=args.latency,
        failure_rate=args.failure_rate,
        offline=args.offline,
    )
    print(f"demo fleet in {describe(database)}: {summary.describe()}")
    return 0


def _demo_agents(args: argparse.Namespace) -> int:
    import signal
    import threading

    from appupdater.core.fleetimport import import_file
    from appupdater.demo.agents import start_demo, stop_demo
    from appupdater.store.db import default_location, describe

    if not 1 <= args.agents <= 200:
        raise AppUpdaterError("--agents must be between 1 and 200")
    folder = Path(args.folder or Path(default_location()).parent / "demo-agents")
    database = _open(args)
    print(f"starting {args.agents} agents in {folder} …")
    agents, fleet = start_demo(folder, args.agents)
    try:
        summary = import_file(fleet)
        print(f"fleet imported into {describe(database)}: {summary.describe()}")
        for agent in agents:
            print(f"  {agent.name}  {agent.endpoint}  (state in {folder / 'devices' / agent.name})")
        print("Now run `appupdater` (same database) and update line-monitor: the agents apply")
        print("it for real. Ctrl+C stops the agents.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1):
                gone = [a.name for a in agents if a.process.poll() is not None]
                if gone:
                    raise AppUpdaterError(f"agent {gone[0]} stopped; see its log in {folder}")
        except KeyboardInterrupt:
            pass
    finally:
        stop_demo(agents)
        print("agents stopped")
    return 0


def cmd_engine(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from appupdater.engine.headless import run_headless
    from appupdater.engine.settings import EngineSettings, GatewaySettings

    if args.attempts < 1:
        raise AppUpdaterError("--attempts must be at least 1")
    _seconds("--timeout", args.timeout, minimum=0.001, maximum=MAX_SECONDS)
    _seconds("--latency", args.latency, minimum=0, maximum=MAX_SECONDS)
    # their minimums are EngineSettings' to say; here only what timedelta cannot take
    _seconds("--backoff", args.backoff, minimum=-math.inf, maximum=MAX_SECONDS)
    _seconds("--stale-after", args.stale_after, minimum=-math.inf, maximum=MAX_SECONDS)
    settings = EngineSettings(  # refused settings say so before anything is opened
        concurrency=args.concurrency,
        timeout=timedelta(seconds=args.timeout),
        max_attempts=args.attempts,
        backoff=timedelta(seconds=args.backoff),
        stale_after=timedelta(seconds=args.stale_after),
        gateways=GatewaySettings(simulated_latency=args.latency),
    )
    if not args.verbose:
        logging.getLogger("appupdater").setLevel(logging.INFO)
    _open(args)
    return run_headless(settings)


MAX_SECONDS = 366 * 24 * 3600  # a year: longer is a typo, and timedelta overflows past ~2.7e12


def _seconds(option: str, value: float, *, minimum: float, maximum: float) -> None:
    """Refuse NaN, infinities and values out of range in words (timedelta would overflow)."""
    if not math.isfinite(value):
        raise AppUpdaterError(f"{option} must be a number of seconds, not {value}")
    if not minimum <= value <= maximum:
        bound = "positive" if minimum > 0 else "at least 0"
        raise AppUpdaterError(f"{option} {value:g}: must be {bound} and at most {maximum:,} s")


def cmd_update(args: argparse.Namespace) -> int:
    from appupdater.cli.runverbs import strategy_of
    from appupdater.core.identity import who
    from appupdater.core.planning import plan_update
    from appupdater.core.runs import apply_configuration, create_run

    if not args.yes:
        raise AppUpdaterError("add --yes to approve the update (nothing was recorded)")
    action = _deploy_action(args.deploy)
    strategy = strategy_of(args)
    _open(args)
    plan = plan_update(_selections(args.app))
    devices = None
    if args.device:
        by_name = {d.name: d.id for d in plan.devices()}
        unknown = [name for name in args.device if name not in by_name]
        if unknown:
            raise AppUpdaterError(f"not affected by this update: {', '.join(unknown)}")
        devices = [by_name[name] for name in args.device]
    run_id = create_run(
        plan, approved_by=who().user, devices=devices, default=action, strategy=strategy
    )
    applied = apply_configuration(run_id)
    result = {
        "run": run_id,
        "configurations_updated": applied.configurations_updated,
        "deployments_created": applied.deployments_created,
        # a time is given exactly for DeployAction.AT
        "action": action.at.isoformat() if action.at is not None else action.action.value,
        "approval": applied.approval,  # "awaiting": a second person must approve it first
    }
    if args.json:
        print(json.dumps(result))
    elif applied.approval:
        print(awaiting_words(run_id))
    else:
        print(
            f"run {run_id} approved: {_count(applied.configurations_updated, 'configuration')} "
            f"updated, {_count(applied.deployments_created, 'deployment')} created "
            f"({result['action']})"
        )
    return 0


def _deploy_action(text: str) -> DeviceAction:
    from appupdater.core.runs import CONFIG_ONLY, DEPLOY_NOW, DeviceAction
    from appupdater.store.models import DeployAction

    if text == "none":
        return CONFIG_ONLY
    if text == "now":
        return DEPLOY_NOW
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise AppUpdaterError(
            f"--deploy {text!r}: expected none, now or an ISO time like 2026-12-01T22:00+01:00"
        ) from None
    try:
        if at.tzinfo is None:  # a time without zone is the workstation's local time
            aware = _local_time(at)
            if aware is None:
                raise AppUpdaterError(
                    f"--deploy {text!r}: {at:%Y-%m-%d %H:%M} does not exist in the workstation's "
                    "time zone (the clocks jump over it); choose another time or give a UTC offset"
                )
            at = aware
        far = at.astimezone(UTC).year > LAST_YEAR
    except OverflowError:
        far = True
    if far:
        raise AppUpdaterError(
            f"--deploy {text!r}: that time is too far in the future (after {LAST_YEAR})"
        )
    return DeviceAction(DeployAction.AT, at)


LAST_YEAR = 9998  # later times overflow once a time zone or a retry delay is added


def _local_time(naive: datetime) -> datetime | None:
    """`naive` as an aware local time, or None when the local clocks skip it (a daylight saving
    gap): Python would silently move such a time by the jump."""
    aware = naive.astimezone()
    if aware.replace(tzinfo=None) != naive:
        return None
    return aware


MAX_ID = 2**63 - 1  # the largest row id SQLite and PostgreSQL (bigint) store


def cmd_status(args: argparse.Namespace) -> int:
    from appupdater.core.status import status_document, status_text

    if args.run is not None and not 1 <= args.run <= MAX_ID:
        raise AppUpdaterError(f"there is no update run {args.run}")
    _open(args, create=False)
    document = status_document(args.run)
    if args.run is not None and not document["runs"]:
        raise AppUpdaterError(f"there is no update run {args.run}")
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        sys.stdout.writelines(status_text(document))
    return 0


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from appupdater import desktop

    installed = desktop.install(autostart=args.autostart, database=args.database)
    print(f"Menu entry: {installed.entry}")
    print(f"Icons: {len(installed.icons)} in {desktop.data_home() / 'icons' / 'hicolor'}")
    if installed.autostart is not None:
        print(f"Starts in the tray at login: {installed.autostart}")
    print(f"It runs: {' '.join(installed.command)}")
    return 0


def cmd_uninstall_desktop(args: argparse.Namespace) -> int:
    from appupdater import desktop

    removed = desktop.uninstall()
    print(f"Removed {len(removed)} file(s)." if removed else "Nothing was installed.")
    return 0


VERBS = {
    "import": cmd_import,
    "export": cmd_export,
    "plan": cmd_plan,
    "demo": cmd_demo,
    "engine": cmd_engine,
    "update": cmd_update,
    "status": cmd_status,
    "migrate": cmd_migrate,
    "install-desktop": cmd_install_desktop,
    "uninstall-desktop": cmd_uninstall_desktop,
    **RUN_VERBS,
    **SETTINGS_VERBS,
    **REVISION_VERBS,
    **APPROVAL_VERBS,
    **WEBHOOK_VERBS,
    **AUDIT_VERBS,
}
