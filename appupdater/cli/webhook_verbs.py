"""`appupdater webhook add URL [--secret S] [--events a,b] | list [--json] | remove ID | test ID`:
the URLs told about runs (docs/webhooks.md). The engines send; `test` sends one now itself."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = "add, list, remove or test the webhooks told about runs (see docs/webhooks.md)"


def add_webhook_parser(verbs: Any) -> None:
    """The `webhook` verb and its sub-verbs, on the parser's verbs."""
    from appupdater.core.webhooks import EVENTS

    p = verbs.add_parser("webhook", help=HELP)
    sub = p.add_subparsers(dest="webhook_verb", metavar="add|list|remove|test", required=True)
    add = sub.add_parser("add", help="tell an http(s) URL about runs")
    add.add_argument("url", metavar="URL")
    add.add_argument(
        "--secret",
        metavar="S",
        help="sign each body with this secret (header X-AppUpdater-Signature); - reads it "
        "from standard input, so it stays out of the shell's history",
    )
    add.add_argument(
        "--events",
        metavar="a,b",
        help=f"only these events (default: all): {', '.join(EVENTS)}",
    )
    listing = sub.add_parser("list", help="the webhooks, their events and last delivery")
    listing.add_argument("--json", action="store_true", help="print JSON")
    remove = sub.add_parser("remove", help="tell a webhook nothing more")
    remove.add_argument("id", type=int, metavar="ID")
    test = sub.add_parser("test", help="send a test event now and print the HTTP status")
    test.add_argument("id", type=int, metavar="ID")


def cmd_webhook(args: argparse.Namespace) -> int:
    from appupdater.core import webhooks
    from appupdater.core.urls import redacted_url
    from appupdater.store.db import open_database

    open_database(args.database)
    verb = args.webhook_verb
    if verb == "add":
        secret = args.secret
        if secret == "-":
            secret = sys.stdin.readline().strip()
        hook = webhooks.add_webhook(args.url, secret=secret, events=args.events)
        print(f"webhook {hook} added: {redacted_url(args.url.strip())}")
        return 0
    if verb == "remove":
        url = webhooks.remove_webhook(args.id)
        print(f"webhook {args.id} removed: {redacted_url(url)}")
        return 0
    if verb == "test":
        return _test(args.id)
    return _list(args.json)


def _test(webhook_id: int) -> int:
    from appupdater.engine.webhooks import send_test
    from appupdater.store.fields import utcnow

    sent = send_test(webhook_id, utcnow())
    if sent.status is None:
        print(f"no answer from webhook {webhook_id}: {sent.error}")
        return 1
    print(f"HTTP {sent.status} ({sent.duration_ms} ms)")
    return 0 if sent.ok else 1


def _list(as_json: bool) -> int:
    from appupdater.core import webhooks
    from appupdater.core.urls import redacted_url
    from appupdater.core.webhook_retention import history_words

    hooks = webhooks.webhooks()
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": h.id,
                        "url": redacted_url(h.url),
                        "secret": h.has_secret,
                        "events": list(h.events),
                        "created_by": h.created_by,
                        "created_at": h.created_at.isoformat(),
                        "last_delivery": None
                        if h.last is None
                        else {
                            "event": h.last.event,
                            "run": h.last.run,
                            "at": h.last.at.isoformat(),
                            "status": h.last.status,
                            "error": h.last.error,
                        },
                    }
                    for h in hooks
                ],
                indent=2,
            )
        )
        return 0
    if not hooks:
        print("No webhooks. Add one with `appupdater webhook add URL`.")
        return 0
    for h in hooks:
        signed = ", signed" if h.has_secret else ""
        print(f"{h.id}  {redacted_url(h.url)}{signed}")
        print(f"    events: {', '.join(h.events)}")
        if h.last is None:
            print("    last delivery: none yet")
        else:
            at = h.last.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            print(f"    last delivery: {h.last.event} on {at}: {h.last.describe()}")
    print(f"\n{history_words()}")
    return 0


WEBHOOK_VERBS = {"webhook": cmd_webhook}
