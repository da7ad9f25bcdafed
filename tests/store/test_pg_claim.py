"""Claiming on PostgreSQL: an engine claims past the deployments another engine is claiming at
that moment (SKIP LOCKED) instead of coming back empty after waiting for them, each deployment
once, and never two of one device at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

import appupdater.core.scheduling as scheduling
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import apply_configuration, create_run
from appupdater.store.models import Deployment
from tests.helpers import CATALOG, load_yaml

pytestmark = pytest.mark.integration
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _rollout(devices: int) -> None:
    lines = "".join(
        f"  - {{name: dev-{i}, applications: {{line-monitor: "
        f"{{configured: '1.0.0', installed: '1.0.0'}}}}}}\n"
        for i in range(devices)
    )
    load_yaml(CATALOG + "devices:\n" + lines)
    for _ in range(2):  # two runs: every device has a second deployment waiting behind
        run_id = create_run(plan_update([Selection("line-monitor")]), approved_by="test")
        apply_configuration(run_id)
        Deployment.update(state="queued").where(Deployment.run == run_id).execute()


def _wait_for_a_lock_wait(database) -> None:
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    end = time.monotonic() + 30
    while not database.execute_sql(waiting).fetchone()[0]:
        assert time.monotonic() < end, "the second claim never reached the first one's locks"
        time.sleep(0.01)


def test_a_second_engine_claims_other_deployments_meanwhile(pg, monkeypatch):
    _rollout(6)
    inside, release = threading.Event(), threading.Event()
    load_jobs = scheduling.load_jobs

    def held(*args, **kwargs):
        jobs = load_jobs(*args, **kwargs)
        if threading.current_thread().name == "a":
            inside.set()
            assert release.wait(30)
        return jobs

    monkeypatch.setattr(scheduling, "load_jobs", held)
    claimed: dict[str, list[int]] = {}

    def claim(name: str, limit: int) -> None:
        with pg.connection_context():
            claimed[name] = [job.id for job in scheduling.claim(name, NOW, limit)]

    a = threading.Thread(target=claim, args=("a", 2), name="a")
    a.start()
    assert inside.wait(30)
    b = threading.Thread(target=claim, args=("b", 2), name="b")
    b.start()
    # b chose its deployments and now waits for a's commit (the change counter's row lock,
    # store/revisions.py, orders every write to deployments)
    _wait_for_a_lock_wait(pg)
    release.set()
    a.join(30)
    b.join(30)
    assert len(claimed["a"]) == 2
    assert len(claimed["b"]) == 2, "the second engine chose the same deployments as the first"
    assert not set(claimed["a"]) & set(claimed["b"])
    c = threading.Thread(target=claim, args=("c", 100), name="c")
    c.start()
    c.join(30)
    assert len(claimed["c"]) == 2  # the last devices' first deployments; the second ones wait
    running = Deployment.select(Deployment.device).where(Deployment.state == "running")
    devices = [d for (d,) in running.tuples()]
    assert len(devices) == len(set(devices)) == 6
    assert {c for (c,) in Deployment.select(Deployment.claim).tuples()} == {0, 1}
