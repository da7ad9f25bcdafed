"""Engines as processes on a real PostgreSQL server that restarts in the middle of a rollout:
the attempts whose ends could not be written are written when the server is back, and nothing
stays `running`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import peewee
import pytest

from appupdater.store.db import close_database, open_database
from appupdater.store.models import Deployment, DeploymentEvent, EngineInstance
from appupdater.store.models import db as proxy
from appupdater.store.tables import ALL_MODELS
from tests.engine.test_processes import assert_never_overlapped
from tests.helpers import behind_on_line_monitor
from tests.pg_server import serve_postgres_server

pytestmark = [pytest.mark.slow, pytest.mark.integration]
DEVICES = 300


@pytest.fixture(scope="module")
def server():
    yield from serve_postgres_server()


@pytest.fixture
def pg(server):
    database = open_database(server.url)
    yield database
    close_database()
    database = open_database(server.url)
    database.drop_tables(list(reversed(ALL_MODELS)), cascade=True)
    close_database()
    proxy.initialize(None)


def start_engine(url: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "appupdater", "--database", url, "engine"]
    command += ["--latency", "0.4", "--concurrency", "20"]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )


def read(query):
    """Run `query` on this test's connection, opening a new one after the server restarted."""
    database = proxy.obj
    try:
        return query()
    except peewee.DatabaseError:
        database.close()
        database.connect()
        return query()


def count(state: str) -> int:
    return read(lambda: Deployment.select().where(Deployment.state == state).count())


def wait_for(condition, timeout: float, processes=()) -> None:
    end = time.monotonic() + timeout
    while not condition():
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"engine exited early:\n{process.stdout.read()}")
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)


def test_server_restart_mid_rollout_every_deployment_ends(pg, server):
    behind_on_line_monitor(DEVICES)
    engines = [start_engine(server.url), start_engine(server.url)]
    outputs: list[str] = []
    try:
        wait_for(lambda: count("succeeded") >= 20 and count("running") >= 8, 90, engines)
        server.restart(pause=2.0)
        wait_for(lambda: count("succeeded") == DEVICES, 60, engines)
    finally:
        for engine in engines:
            if engine.poll() is None:
                engine.send_signal(signal.SIGTERM)
        outputs = [engine.communicate(timeout=60)[0] for engine in engines]
    assert all(engine.returncode == 0 for engine in engines), outputs
    assert count("running") == 0
    starts = read(
        lambda: (
            DeploymentEvent.select().where(DeploymentEvent.message.startswith("attempt ")).count()
        )
    )
    attempts = read(lambda: sum(d.attempts for d in Deployment.select(Deployment.attempts)))
    assert starts == attempts, outputs
    assert attempts == DEVICES, outputs  # each started once: no end was lost
    read(assert_never_overlapped)
    configured = read(
        lambda: (
            DeploymentEvent.select()
            .where(DeploymentEvent.message.startswith("configuration updated"))
            .count()
        )
    )
    assert configured == DEVICES, outputs  # the run was applied once, by one engine
    # each engine removed its own row when it stopped, after the restart
    assert read(lambda: EngineInstance.select().count()) == 0, outputs
