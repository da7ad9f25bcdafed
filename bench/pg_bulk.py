"""Bulk writes on PostgreSQL beside SQLite, through the real command line.

    python bench/pg_bulk.py [--devices 100000] [--database postgresql://…]

Runs `appupdater demo --devices N` on a fresh database, then `update --app … --deploy none
--yes` (configurations only, no deployments), each in its own process, and prints name=value
lines: sqlite_demo_100k_s, sqlite_update_75k_s, pg_demo_100k_s, pg_update_75k_s (the names
keep 100k/75k whatever --devices is), and configurations (rows the update wrote). Without
--database a throwaway PostgreSQL server is started (tests/pg_server.py; Debian's postgresql).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APPS = ("line-monitor", "edge-gateway", "vision-inspect")


def appupdater(database: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "appupdater", "--database", database, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    took = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"appupdater {' '.join(args)} failed: {result.stderr.strip()}")
    return took, result.stdout


def measure(prefix: str, database: str, devices: int) -> None:
    demo_s, _ = appupdater(database, "demo", "--devices", str(devices))
    update_args = [arg for app in APPS for arg in ("--app", app)]
    update_s, out = appupdater(database, "update", *update_args, "--deploy", "none", "--yes")
    print(f"{prefix}_demo_100k_s={demo_s:.1f}")
    print(f"{prefix}_update_75k_s={update_s:.1f}")
    found = re.search(r"(\d+) configurations updated", out)
    if found:
        print(f"{prefix}_update_rows={found.group(1).replace(',', '')}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a throwaway server)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure("sqlite", str(Path(folder) / "bench.sqlite3"), args.devices)
    if args.database:
        measure("pg", args.database, args.devices)
        return
    from tests.pg_server import PostgresServer, find_bin

    bindir = find_bin()
    if bindir is None:
        sys.exit("no PostgreSQL server binaries (Debian package postgresql); give --database")
    server = PostgresServer(bindir)
    try:
        measure("pg", server.start(), args.devices)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
