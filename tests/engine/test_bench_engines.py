"""`bench/engine.py --engines N --database …` and `bench/plan.py --database …` on a small fleet:
the rollout runs in engine processes, and the lines the closing notes quote are printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]


def bench(script: str, *args: str) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


@pytest.fixture
def empty_pg(pg_url):
    """The server's database, emptied again after the bench filled it."""
    yield pg_url
    from appupdater.store.db import close_database, open_database
    from appupdater.store.tables import ALL_MODELS

    database = open_database(pg_url)
    database.drop_tables(list(reversed(ALL_MODELS)), cascade=True)
    close_database()


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_engine_bench_runs_the_rollout_in_engine_processes(where, request):
    database = ["--database", request.getfixturevalue("empty_pg")] if where != "sqlite" else []
    out = bench(
        "engine.py",
        *("--deployments", "60", "--latency", "0.2", "--concurrency", "20", "--engines", "2"),
        *database,
    )
    assert out["database"] == where
    assert out["succeeded"] == "60"
    assert out["engines"] == "2"
    assert out["ran_twice"] == "0"
    assert float(out["efficiency"]) > 0
    assert "max_gui_stall_ms" not in out  # no engine ran beside a GUI thread


def test_plan_bench_on_postgresql(empty_pg):
    out = bench("plan.py", "--devices", "300", "--database", empty_pg)
    assert out["database"] == "postgresql"
    assert float(out["create_run_s"]) >= 0
    assert "raw_insert_ratio" not in out  # a SQLite-only comparison


def test_bench_refuses_a_database_with_a_fleet(empty_pg):
    bench("plan.py", "--devices", "50", "--database", empty_pg)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "plan.py"),
            *("--devices", "50", "--database", empty_pg),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "already holds devices" in result.stderr
