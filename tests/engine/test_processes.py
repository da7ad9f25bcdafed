"""Engines as separate processes on one file database: killed mid-rollout, and two at once."""

from __future__ import annotations

import signal
import subprocess

import pytest

from appupdater.store.models import Deployment, DeploymentEvent
from tests.engine import processes
from tests.engine.processes import assert_never_overlapped, count, stop, wait_for
from tests.helpers import behind_on_line_monitor

pytestmark = [pytest.mark.slow, pytest.mark.integration]
DEVICES = 200


@pytest.fixture
def rollout(db, db_path):
    """200 devices behind on line-monitor, and an approved run for all of them."""
    run_id = behind_on_line_monitor(DEVICES)
    return run_id


def start_engine(db_path) -> subprocess.Popen:
    return processes.start_engine(str(db_path), latency=0.15, concurrency=8, stale_after=1.5)


def test_killed_mid_rollout_then_restarted(rollout, db, db_path):
    first = start_engine(db_path)
    try:
        wait_for(lambda: count("succeeded") >= 40 and count("running") > 0, 60, first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    running_when_killed = count("running")
    assert running_when_killed > 0
    second = start_engine(db_path)
    try:
        wait_for(lambda: count("succeeded") == DEVICES, 120, second)
    finally:
        output = stop(second)
    assert Deployment.select().count() == DEVICES
    interrupted = (
        DeploymentEvent.select()
        .where(DeploymentEvent.message.startswith("interrupted: the engine running it stopped"))
        .count()
    )
    assert interrupted == running_when_killed, output
    assert_never_overlapped()
    assert db.execute_sql("PRAGMA integrity_check").fetchone() == ("ok",)


def test_two_engines_share_the_work_and_run_each_deployment_once(rollout, db, db_path):
    engines = [start_engine(db_path), start_engine(db_path)]
    try:
        wait_for(lambda: count("succeeded") == DEVICES, 120)
    finally:
        outputs = [stop(e) for e in engines]
    starts = DeploymentEvent.select().where(DeploymentEvent.message.startswith("attempt ")).count()
    assert starts == DEVICES, outputs
    assert Deployment.select().where(Deployment.attempts != 1).count() == 0
    by_engine = {c for (c,) in Deployment.select(Deployment.claimed_by).distinct().tuples()}
    assert len(by_engine) == 2, "both engines took part"
    assert_never_overlapped()
