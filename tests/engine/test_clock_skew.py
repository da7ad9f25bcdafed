"""Exactly once, whatever the clocks say: two `appupdater engine` processes on one database
(SQLite, and PostgreSQL where a server can be started), one with its wall clock 5 minutes
behind, the other 5 minutes ahead. Each deployment starts once and nothing is taken over while
its engine lives; once one engine is killed, the other takes its deployments over after
`--stale-after`, and each deployment still ends exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.store.db import close_database, open_database
from appupdater.store.models import Deployment, DeploymentEvent, EngineInstance
from appupdater.store.models import db as db_proxy
from appupdater.store.tables import ALL_MODELS
from appupdater.store.team_models import AuditEntry
from tests.engine import processes
from tests.engine.processes import TAKEN_OVER, wait_for
from tests.helpers import CATALOG, load_yaml
from tests.pg_server import serve_postgres

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DEVICES = 24
SKEW = 300.0  # seconds: engine A runs 5 minutes behind, engine B 5 minutes ahead
STALE_AFTER = 2.0
LATENCY = 1.5  # long enough that the engine killed has deployments running
HOOK = Path(__file__).resolve().parents[1] / "clockshift"


@pytest.fixture(scope="module")
def pg_server_url():
    yield from serve_postgres()


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    """An empty fleet database, bound in this process: its path or URL."""
    if request.param == "sqlite":
        where = str(tmp_path / "fleet.sqlite3")
    else:
        where = request.getfixturevalue("pg_server_url")
    database = open_database(where)
    yield where
    if request.param == "postgresql":
        database.drop_tables(list(reversed(ALL_MODELS)), cascade=True)
    close_database()
    db_proxy.initialize(None)


def start_engine(location: str, shift: float) -> subprocess.Popen:
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HOOK), os.environ.get("PYTHONPATH")])),
        "APPUPDATER_TEST_CLOCK_SHIFT_S": str(shift),
    }
    options = {"latency": LATENCY, "concurrency": 3, "stale_after": STALE_AFTER}
    return processes.start_engine(location, env=env, **options)


def instances() -> dict[int, tuple[str, datetime]]:
    """pid → (engine instance id, the heartbeat time it wrote)."""
    query = EngineInstance.select(
        EngineInstance.pid, EngineInstance.id, EngineInstance.heartbeat_at
    )
    return {pid: (instance, at) for pid, instance, at in query.tuples()}


def events(text: str) -> list[tuple[int, datetime]]:
    query = DeploymentEvent.select(DeploymentEvent.deployment, DeploymentEvent.at).where(
        DeploymentEvent.message.contains(text)
    )
    return list(query.tuples())


def starts() -> Counter[int]:
    return Counter(d for d, _ in events(" started on dev-"))


def running_on(instance: str) -> set[int]:
    query = Deployment.select(Deployment.id).where(
        (Deployment.state == "running") & (Deployment.claimed_by == instance)
    )
    return {d for (d,) in query.tuples()}


def claimed_by(instance: str) -> bool:
    return Deployment.select().where(Deployment.claimed_by == instance).exists()


def succeeded() -> int:
    return Deployment.select().where(Deployment.state == "succeeded").count()


def test_two_engines_with_skewed_clocks_start_each_deployment_once(location):
    lines = "".join(
        f"  - {{name: dev-{i:02d}, applications: {{line-monitor: "
        f"{{configured: '1.0.0', installed: '1.0.0'}}}}}}\n"
        for i in range(DEVICES)
    )
    load_yaml(CATALOG + "devices:\n" + lines)
    create_run(plan_update([Selection("line-monitor", "2.0.0")]), approved_by="test")
    shown = 0.0 if location.startswith("postgresql") else SKEW  # the skew written
    behind, ahead = start_engine(location, -SKEW), start_engine(location, +SKEW)
    try:
        wait_for(lambda: {behind.pid, ahead.pid} <= set(instances()), 60, behind, ahead)
        # the hook shifts the engines' clocks, 10 minutes apart. On SQLite what they write
        # says so; on PostgreSQL each corrects to the server's clock (store/dbclock.py)
        now = datetime.now(UTC)
        a, a_beat = instances()[behind.pid]
        b, b_beat = instances()[ahead.pid]
        assert abs((a_beat - now).total_seconds() + shown) < 30
        assert abs((b_beat - now).total_seconds() - shown) < 30
        # both work, and while both live nothing is taken over and nothing starts twice
        wait_for(
            lambda: succeeded() >= DEVICES // 4 and claimed_by(b) and running_on(a),
            90,
            behind,
            ahead,
        )
        assert events(TAKEN_OVER) == []
        assert set(starts().values()) == {1}
        behind.send_signal(signal.SIGKILL)
        behind.communicate(timeout=30)
        killed_at = datetime.now(UTC)
        orphaned = running_on(a)
        assert orphaned, "the engine was killed with deployments running"
        assert events(TAKEN_OVER) == []
        wait_for(lambda: succeeded() == DEVICES, 120, ahead)
    finally:
        for process in (behind, ahead):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=60)[0] for process in (behind, ahead)]
    taken = events(TAKEN_OVER)
    assert sorted(d for d, _ in taken) == sorted(orphaned), outputs[1]
    for _, at in taken:  # written by engine B, on its clock 5 minutes ahead (SQLite)
        waited = (at - timedelta(seconds=shown) - killed_at).total_seconds()
        assert STALE_AFTER - 1.0 <= waited <= STALE_AFTER + 20, waited
    counted = starts()
    assert {d: n for d, n in counted.items() if n != 1} == dict.fromkeys(orphaned, 2)
    assert len(counted) == DEVICES
    ended = Counter(d for d, _ in events("deployed to dev-"))
    assert set(ended.values()) == {1} and len(ended) == DEVICES
    attempts = Deployment.select(Deployment.attempts).distinct().tuples()
    assert [n for (n,) in attempts] == [1]


def test_a_workstation_with_a_wrong_clock_stamps_the_servers_time(pg_server_url, tmp_path):
    """A command run on a machine whose clock is 5 minutes ahead, on a PostgreSQL database:
    its audit entry carries the server's time, not the machine's, and it warns in words."""
    database = open_database(pg_server_url)
    try:
        load_yaml(CATALOG)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HOOK), os.environ.get("PYTHONPATH")])),
            "APPUPDATER_TEST_CLOCK_SHIFT_S": str(SKEW),
        }
        command = [sys.executable, "-m", "appupdater", "--database", pg_server_url]
        done = subprocess.run(
            [*command, "settings", "--default-waves", "1,rest"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        now = datetime.now(UTC)
        entry = AuditEntry.select().where(AuditEntry.action == "settings").get()
        assert abs((entry.at - now).total_seconds()) < 30, entry.at
        assert "this machine's clock is 5 min ahead of the database server's" in done.stderr
    finally:
        database.drop_tables(list(reversed(ALL_MODELS)), cascade=True)
        close_database()
        db_proxy.initialize(None)
