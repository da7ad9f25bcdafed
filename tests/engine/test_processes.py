"""Engines as separate processes on one file database: killed mid-rollout, and two at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from appupdater.store.models import Deployment, DeploymentEvent
from tests.helpers import behind_on_line_monitor

pytestmark = [pytest.mark.slow, pytest.mark.integration]
DEVICES = 200


@pytest.fixture
def rollout(db, db_path):
    """200 devices behind on line-monitor, and an approved run for all of them."""
    run_id = behind_on_line_monitor(DEVICES)
    return run_id


def start_engine(db_path, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "appupdater",
        "--database",
        str(db_path),
        "engine",
        "--latency",
        "0.15",
        "--concurrency",
        "8",
        "--stale-after",
        "1.5",
        *extra,
    ]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )


def count(state: str) -> int:
    return Deployment.select().where(Deployment.state == state).count()


def wait_for(condition, timeout: float, process=None) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"engine exited early:\n{process.stdout.read()}")
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return output


def assert_never_overlapped() -> None:
    """Per deployment, every attempt's start follows the previous attempt's end."""
    ends = ("deployed to", "interrupted", "cancelled", "retrying in", "gave up")
    rows = (
        DeploymentEvent.select(DeploymentEvent.deployment, DeploymentEvent.message)
        .order_by(DeploymentEvent.deployment, DeploymentEvent.at, DeploymentEvent.id)
        .tuples()
    )
    open_attempt: dict[int, bool] = {}
    for deployment_id, message in rows:
        if message.startswith("attempt "):
            assert not open_attempt.get(deployment_id), (
                f"deployment {deployment_id} ran twice at once"
            )
            open_attempt[deployment_id] = True
        elif any(message.startswith(e) or e in message for e in ends):
            open_attempt[deployment_id] = False


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
