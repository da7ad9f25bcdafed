"""The `appupdater` command line: its options and verbs, as argparse reads them."""

from __future__ import annotations

import argparse

from appupdater import __version__
from appupdater.cli.audit_verb import add_audit_parser
from appupdater.cli.runverbs import add_strategy_options
from appupdater.cli.settings_verb import add_settings_parser
from appupdater.cli.webhook_verbs import add_webhook_parser
from appupdater.engine.settings import DEFAULT_CONCURRENCY, MAX_CONCURRENCY


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
    p.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"deployments in flight at once (default {DEFAULT_CONCURRENCY}, up to "
        f"{MAX_CONCURRENCY:,})",
    )
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
    add_strategy_options(p)
    p.add_argument("--yes", action="store_true", help="approve without asking")
    p.add_argument("--json", action="store_true", help="print the run as JSON")

    for verb, text in (
        ("pause", "pause a run: nothing new of it starts until it is resumed"),
        ("resume", "resume a paused run (its failures so far are accepted)"),
        ("abort", "abort a run: cancel everything of it that has not finished"),
        ("next-wave", "start a run's next wave now, without waiting for the soak time"),
    ):
        p = verbs.add_parser(verb, help=text)
        p.add_argument("--run", type=int, required=True, metavar="ID")
        if verb == "pause":
            p.add_argument("--reason", default="", metavar="TEXT", help="why, shown with the run")

    p = verbs.add_parser(
        "install-desktop",
        help="add App Updater to your application menu (desktop entry and icons in ~/.local/share)",
    )
    p.add_argument("--autostart", action="store_true", help="also start it in the tray at login")
    verbs.add_parser("uninstall-desktop", help="remove the menu entry, icons and login entry again")

    p = verbs.add_parser(
        "migrate",
        help="bring an older database to this version's schema, after saying what changes "
        "(the only way a shared PostgreSQL database is migrated: back it up first)",
    )
    p.add_argument("--yes", action="store_true", help="migrate without asking")

    from appupdater.cli.revisionverbs import add_parsers as add_revision_verbs

    add_revision_verbs(verbs)  # history, rollback, revert
    from appupdater.cli.approval_verbs import add_parsers as add_approval_verbs

    add_approval_verbs(verbs)  # approve, review, reject, policy

    p = verbs.add_parser("status", help="runs and deployments with their states")
    p.add_argument("--run", type=int, metavar="ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_settings_parser(verbs)
    add_webhook_parser(verbs)
    add_audit_parser(verbs)
    return parser
