"""The `appupdater` command: the GUI by default, and verbs for everything worth scripting."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

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
    parser.add_argument(
        "--tray",
        action="store_true",
        help="start in the system tray without opening the window (as at login)",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation: off-screen, on a temporary demo database, open the "
        "window, approve a small update and deploy it to simulated devices; exit 0 if all worked",
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
    p.add_argument(
        "--latency",
        type=float,
        metavar="SECONDS",
        help="simulated deployment time of every device (label sim.latency_s)",
    )
    p.add_argument(
        "--failure-rate",
        type=float,
        metavar="P",
        help="chance 0-1 that a simulated deployment fails (label sim.failure_rate)",
    )
    p.add_argument(
        "--offline",
        type=float,
        metavar="P",
        default=None,
        help="share 0-1 of devices that are offline (label sim.offline)",
    )
    p.add_argument(
        "--agents",
        type=int,
        metavar="N",
        help="instead: start N real device agents on this machine and import a fleet that "
        "points at them; they run until Ctrl+C (deploy to them from `appupdater`)",
    )
    p.add_argument(
        "--folder",
        metavar="DIR",
        help="where the agents keep their state (default: a demo-agents folder beside the data)",
    )

    p = verbs.add_parser("engine", help="run deployments without windows until SIGINT/SIGTERM")
    p.add_argument("--concurrency", type=int, default=16, metavar="N")
    p.add_argument(
        "--timeout",
        type=float,
        default=1800,
        metavar="SECONDS",
        help="per-deployment timeout (default 1800)",
    )
    p.add_argument(
        "--attempts",
        type=int,
        default=3,
        metavar="N",
        help="attempts for transient failures (default 3)",
    )
    p.add_argument(
        "--backoff",
        type=float,
        default=30,
        metavar="SECONDS",
        help="wait before the first retry, doubled each time (default 30)",
    )
    p.add_argument(
        "--latency",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="deployment time of simulated devices (those without an agent endpoint) that have "
        "no sim.latency_s label; devices with an endpoint are always deployed through their agent",
    )
    p.add_argument(
        "--stale-after",
        type=float,
        default=15,
        metavar="SECONDS",
        help="take over the deployments of an engine silent this long (default 15)",
    )

    p = verbs.add_parser("update", help="record an approved update run, as the wizard would")
    p.add_argument("--app", action="append", required=True, metavar="NAME[=VERSION]")
    p.add_argument(
        "--device",
        action="append",
        metavar="NAME",
        help="only these devices (repeatable; default: every affected device)",
    )
    p.add_argument(
        "--deploy",
        default="now",
        metavar="none|now|ISO-TIME",
        help="deployment action for every device (default now)",
    )
    p.add_argument("--yes", action="store_true", help="approve without asking")
    p.add_argument("--json", action="store_true", help="print the run as JSON")

    p = verbs.add_parser(
        "install-desktop",
        help="add App Updater to your application menu (desktop entry and icons in ~/.local/share)",
    )
    p.add_argument("--autostart", action="store_true", help="also start it in the tray at login")
    verbs.add_parser("uninstall-desktop", help="remove the menu entry, icons and login entry again")

    p = verbs.add_parser("status", help="runs and deployments with their states")
    p.add_argument("--run", type=int, metavar="ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


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
    from appupdater.demo.fleet import load_demo
    from appupdater.store.db import describe

    if args.agents is not None:
        return _demo_agents(args)
    if args.devices < 1:
        raise AppUpdaterError("--devices must be at least 1")
    for name, value in (("--failure-rate", args.failure_rate), ("--offline", args.offline)):
        if value is not None and not 0 <= value <= 1:
            raise AppUpdaterError(f"{name} must be between 0 and 1")
    if args.latency is not None and args.latency < 0:
        raise AppUpdaterError("--latency must not be negative")
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

    if args.concurrency < 1 or args.attempts < 1 or args.timeout <= 0:
        raise AppUpdaterError("--concurrency and --attempts must be at least 1, --timeout positive")
    if args.latency < 0:
        raise AppUpdaterError("--latency must not be negative")
    if not args.verbose:
        logging.getLogger("appupdater").setLevel(logging.INFO)
    _open(args)
    settings = EngineSettings(
        concurrency=args.concurrency,
        timeout=timedelta(seconds=args.timeout),
        max_attempts=args.attempts,
        backoff=timedelta(seconds=args.backoff),
        stale_after=timedelta(seconds=args.stale_after),
        gateways=GatewaySettings(simulated_latency=args.latency),
    )
    return run_headless(settings)


def cmd_update(args: argparse.Namespace) -> int:
    import getpass

    from appupdater.core.planning import Selection, plan_update
    from appupdater.core.runs import apply_configuration, create_run
    from appupdater.store.models import DeployAction

    if not args.yes:
        raise AppUpdaterError("add --yes to approve the update (nothing was recorded)")
    action = _deploy_action(args.deploy)
    _open(args)
    plan = plan_update([Selection.parse(text) for text in args.app])
    devices = None
    if args.device:
        by_name = {d.name: d.id for d in plan.devices()}
        unknown = [name for name in args.device if name not in by_name]
        if unknown:
            raise AppUpdaterError(f"not affected by this update: {', '.join(unknown)}")
        devices = [by_name[name] for name in args.device]
    run_id = create_run(plan, approved_by=getpass.getuser(), devices=devices, default=action)
    applied = apply_configuration(run_id)
    result = {
        "run": run_id,
        "configurations_updated": applied.configurations_updated,
        "deployments_created": applied.deployments_created,
        "action": action.action.value
        if action.action is not DeployAction.AT
        else action.at.isoformat(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"run {run_id} approved: {applied.configurations_updated} configuration(s) updated, "
            f"{applied.deployments_created} deployment(s) created ({result['action']})"
        )
    return 0


def _deploy_action(text: str):
    from datetime import datetime

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
    if at.tzinfo is None:
        at = at.astimezone()  # a time without zone is the workstation's local time
    return DeviceAction(DeployAction.AT, at)


def cmd_status(args: argparse.Namespace) -> int:
    from appupdater.core.status import status_document, status_text

    _open(args)
    document = status_document(args.run)
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        sys.stdout.writelines(status_text(document))
    return 0


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from appupdater import desktop

    installed = desktop.install(autostart=args.autostart)
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
    "install-desktop": cmd_install_desktop,
    "uninstall-desktop": cmd_uninstall_desktop,
}
