"""Two `appupdater engine` processes on one PostgreSQL database: the run's configuration is
applied by exactly one of them, and each deployment is claimed by exactly one."""

from __future__ import annotations

import collections
import signal
import subprocess
import time

import pytest

from appupdater.store.models import Deployment, DeploymentEvent
from tests.engine import processes
from tests.helpers import behind_on_line_monitor

pytestmark = [pytest.mark.slow, pytest.mark.integration]
DEVICES = 300
CREATED = "configuration updated; deployment created"


def start_engine(url: str) -> subprocess.Popen:
    return processes.start_engine(url, latency=0.05, concurrency=16, stale_after=5)


def succeeded() -> int:
    return Deployment.select().where(Deployment.state == "succeeded").count()


def messages_per_deployment(prefix: str) -> collections.Counter[int]:
    query = DeploymentEvent.select(DeploymentEvent.deployment).where(
        DeploymentEvent.message.startswith(prefix)
    )
    return collections.Counter(d for (d,) in query.tuples())


def test_two_engines_apply_once_and_claim_once(pg, pg_url):
    behind_on_line_monitor(DEVICES)
    engines = [start_engine(pg_url) for _ in range(2)]
    outputs = []
    try:
        end = time.monotonic() + 120
        while succeeded() < DEVICES:
            for engine in engines:
                if engine.poll() is not None:
                    raise AssertionError(f"engine exited early:\n{engine.stdout.read()}")
            assert time.monotonic() < end, "timed out"
            time.sleep(0.1)
    finally:
        for engine in engines:
            if engine.poll() is None:
                engine.send_signal(signal.SIGTERM)
        outputs = [engine.communicate(timeout=60)[0] for engine in engines]
    assert Deployment.select().count() == DEVICES
    created = messages_per_deployment(CREATED)
    assert len(created) == DEVICES
    assert set(created.values()) == {1}, "\n".join(outputs)
    started = messages_per_deployment("attempt ")
    assert len(started) == DEVICES
    assert set(started.values()) == {1}
    claims = Deployment.select(Deployment.claim).tuples()
    assert {c for (c,) in claims} == {1}
