"""Planning and run-creation speed on a big fleet.

    python bench/plan.py --devices 100000

Prints name=value lines: import_s (setup), plan_s (with what deployments also push:
along_devices), create_run_s (every affected device deploying now), review_s (what a second
approver reads of that run: review_devices devices, each with its module changes), apply_s
(its configuration applied: configured versions, deployments, the earlier runs' waiting
deployments superseded, a revision per changed device), stale_apply_s (the configuration step
of a run requested before that one, to each application's version before the latest, which
finds stale_skipped devices moved past it since the request and leaves them as they are),
rollback_plan_s
(planning the rollback of that run: each device back to its revision before it),
rollback_create_s (recording the rollback run), rollback_apply_s (its configuration step, which
also supersedes the run's deployments still queued), raw_insert_ratio (create_run_s over plain
sqlite3.executemany of the same rows into the same tables; SQLite only), targets, peak_rss_mb.

`--database` (see bench/databases.py): a temporary SQLite file by default; `pg` starts a
throwaway PostgreSQL server; a path or URL must hold no fleet yet.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appupdater.core.catalog import load_catalog
from appupdater.core.fleetfile import DeviceAppSpec
from appupdater.core.fleetimport import import_fleet
from appupdater.core.planning import Selection, plan_update
from appupdater.core.rollback import plan_rollback
from appupdater.core.run_review import review_run
from appupdater.core.runs import TARGET_FIELDS, apply_configuration, create_run
from appupdater.demo.fleet import demo_fleet
from appupdater.store.db import close_database, open_database
from appupdater.store.fields import to_db_time, utcnow
from appupdater.store.models import db
from bench.databases import HELP, bench_location, kind, refuse_a_fleet

APPS = ("line-monitor", "edge-gateway", "vision-inspect")


def three_app_fleet(devices: int, seed: int):
    fleet, _ = demo_fleet(devices, seed)
    apps = tuple(a for a in fleet.applications if a.name in APPS)
    specs = []
    for device in fleet.devices:
        kept = {k: v for k, v in device.applications.items() if k in APPS}
        if not kept:
            kept = {"line-monitor": DeviceAppSpec("1.0.0", "1.0.0")}
        specs.append(dataclasses.replace(device, applications=kept))
    return dataclasses.replace(fleet, applications=apps, devices=tuple(specs))


def raw_insert_seconds(path: Path, plan, run_columns) -> float:
    """The same rows written with nothing but sqlite3.executemany, in one transaction."""
    now = to_db_time(utcnow())
    rows = [
        (
            t.device.id,
            t.app.id,
            t.from_version.id,
            t.to_version.id,
            t.installed.id if t.installed else None,
            "now",
            None,  # scheduled_at
            None,  # wave
        )
        for t in plan.targets
    ]
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        start = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        cursor = connection.execute(
            "INSERT INTO update_run (approved_by, approved_at, note, accepted_failures) "
            "VALUES (?, ?, ?, 0)",
            ("bench", now, ""),
        )
        run_id = cursor.lastrowid
        connection.executemany(
            "INSERT INTO run_application (run_id, application_id, to_version_id) VALUES (?, ?, ?)",
            [(run_id, app.id, version.id) for app, version in plan.selections],
        )
        connection.executemany(
            f"INSERT INTO target ({', '.join(run_columns)}) "
            f"VALUES ({', '.join('?' * len(run_columns))})",
            [(run_id, *row) for row in rows],
        )
        connection.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database", help=HELP)
    args = parser.parse_args()
    raw_s = None
    with bench_location(args.database) as location:
        open_database(location)
        refuse_a_fleet()
        database = kind()
        fleet = three_app_fleet(args.devices, args.seed)
        start = time.perf_counter()
        import_fleet(fleet, "bench")
        import_s = time.perf_counter() - start
        del fleet

        start = time.perf_counter()
        plan = plan_update([Selection(name) for name in APPS])
        plan_s = time.perf_counter() - start

        start = time.perf_counter()
        run_id = create_run(plan, approved_by="bench")
        create_run_s = time.perf_counter() - start

        start = time.perf_counter()
        review = review_run(run_id)
        review_s = time.perf_counter() - start
        reviewed = len(review.devices)
        del review

        # a request to the versions before the latest, whose devices that run moves past it
        earlier = load_catalog(APPS).apps
        stale_plan = plan_update(
            [Selection(name, earlier[name].versions[-2].text) for name in APPS]
        )
        stale_id = create_run(stale_plan, approved_by="bench")
        del stale_plan

        start = time.perf_counter()
        apply_configuration(run_id)
        apply_s = time.perf_counter() - start

        start = time.perf_counter()
        stale_skipped = apply_configuration(stale_id).skipped
        stale_apply_s = time.perf_counter() - start

        start = time.perf_counter()
        rollback = plan_rollback(run_id)
        rollback_plan_s = time.perf_counter() - start

        start = time.perf_counter()
        rollback_id = create_run(rollback, approved_by="bench")
        rollback_create_s = time.perf_counter() - start

        start = time.perf_counter()
        apply_configuration(rollback_id)
        rollback_apply_s = time.perf_counter() - start

        columns = [field.column_name for field in TARGET_FIELDS]
        path = db.obj.database  # the SQLite file, whether given as a path or a sqlite:// URL
        close_database()
        if database == "sqlite":
            raw_s = raw_insert_seconds(Path(path), plan, columns)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database={database}")
    print(f"devices={args.devices}")
    print(f"targets={len(plan.targets)}")
    print(f"import_s={import_s:.3f}")
    print(f"plan_s={plan_s:.3f}")
    print(f"create_run_s={create_run_s:.3f}")
    print(f"along_devices={len(plan.along)}")
    print(f"review_devices={reviewed}")
    print(f"review_s={review_s:.3f}")
    print(f"apply_s={apply_s:.3f}")
    print(f"stale_skipped={stale_skipped}")
    print(f"stale_apply_s={stale_apply_s:.3f}")
    print(f"rollback_targets={len(rollback.targets)}")
    print(f"rollback_plan_s={rollback_plan_s:.3f}")
    print(f"rollback_create_s={rollback_create_s:.3f}")
    print(f"rollback_apply_s={rollback_apply_s:.3f}")
    if raw_s is not None:
        print(f"raw_insert_s={raw_s:.3f}")
        print(f"raw_insert_ratio={create_run_s / raw_s:.2f}")
    print(f"peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
