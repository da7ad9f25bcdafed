"""`appupdater migrate`: bring an older database to this version's schema, after saying what
will change and how to back it up. The only way a shared (PostgreSQL) database is migrated."""

from __future__ import annotations

import argparse
import sys

from appupdater.errors import AppUpdaterError


def cmd_migrate(args: argparse.Namespace) -> int:
    from appupdater.store import migrations
    from appupdater.store.db import describe, open_database
    from appupdater.store.migration_plan import migration_plan

    database = open_database(args.database, migrate=False, create=False)
    where = describe(database)
    current = migrations.schema_version(database) or 0
    latest = migrations.latest_version()
    if current == latest:
        print(f"The database {where} is already at schema version {latest}: nothing to do.")
        return 0
    if current > latest:
        migrations.ensure_schema(database, upgrade=False)  # refuses, naming the version needed
    plan = migration_plan(database)
    assert plan is not None  # older than the latest: there are steps
    print(f"{plan.headline()}:")
    for step in plan.steps:
        print(f"  {step}")
    print(plan.backup())
    if plan.server:
        print(plan.others())
    if not args.yes:
        if not sys.stdin.isatty():
            raise AppUpdaterError("add --yes to migrate the database (nothing was changed)")
        if input("Migrate now? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return 1
    done = migrations.ensure_schema(database, confirmed=True)
    if done is None:
        print(
            f"The database {where} is already at schema version {latest}: another process "
            "migrated it meanwhile."
        )
        return 0
    copy = f"; the copy from before is {done.backup}" if done.backup else ""
    print(
        f"migrated the database {where} from schema version {done.from_version} to schema "
        f"version {done.to_version}{copy}"
    )
    return 0
