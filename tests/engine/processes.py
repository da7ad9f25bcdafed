"""Helpers for tests that run real `appupdater engine` processes on one database (a SQLite
file or a PostgreSQL URL) and judge what they did from the database: states and the event log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

from appupdater.store.models import Deployment, DeploymentEvent

# core/scheduling.py: the event a takeover writes, and the start of every attempt
TAKEN_OVER = "interrupted: the engine running it stopped"
STARTED = " started on dev-"
# the events that end an attempt (see core/attempts.py and core/scheduling.py)
ATTEMPT_ENDS = ("deployed to", "interrupted", "cancelled", "retrying in", "gave up")


def start_engine(
    location: str,
    *,
    latency: float,
    concurrency: int,
    stale_after: float,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """`appupdater --database LOCATION engine …` in its own process, its output piped."""
    command = [
        *(sys.executable, "-m", "appupdater", "--database", str(location), "engine"),
        *("--latency", str(latency), "--concurrency", str(concurrency)),
        *("--stale-after", str(stale_after)),
    ]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})},
    )


def wait_for(condition, timeout: float, *processes: subprocess.Popen, step: float = 0.05) -> None:
    """Poll `condition` until true; fail when `timeout` seconds pass or one of `processes`
    exits first (with its output)."""
    end = time.monotonic() + timeout
    while not condition():
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"an engine exited early:\n{process.stdout.read()}")
        assert time.monotonic() < end, "timed out"
        time.sleep(step)


def stop(process: subprocess.Popen) -> str:
    """SIGTERM (unless it already ended), wait, and return its output."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return output


def kill(process: subprocess.Popen) -> str:
    """SIGKILL: the engine gets no chance to write anything more."""
    process.send_signal(signal.SIGKILL)
    output, _ = process.communicate(timeout=30)
    return output


def count(state: str) -> int:
    return Deployment.select().where(Deployment.state == state).count()


def states() -> dict[int, str]:
    """deployment id → state, as the database holds it now."""
    return dict(Deployment.select(Deployment.id, Deployment.state).tuples())


def events_per_deployment(text: str) -> Counter[int]:
    """How many events containing `text` each deployment has."""
    query = DeploymentEvent.select(DeploymentEvent.deployment).where(
        DeploymentEvent.message.contains(text)
    )
    return Counter(d for (d,) in query.tuples())


def assert_never_overlapped() -> None:
    """Per deployment, every attempt's start follows the previous attempt's end."""
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
        elif any(message.startswith(e) or e in message for e in ATTEMPT_ENDS):
            open_attempt[deployment_id] = False
