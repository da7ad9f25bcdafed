"""Shared fixtures: every test gets its own data directory and database file."""

from __future__ import annotations

import gc
import os
import time

import pytest

from appupdater.store.db import close_database, open_database
from appupdater.store.models import db as db_proxy

# Before any Qt object exists: headless, and a zone away from UTC so that every local/UTC
# conversion is exercised.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["TZ"] = "Europe/Berlin"
time.tzset()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Nothing a test does may touch the user's real data directory or database."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("APPUPDATER_DATABASE", raising=False)


@pytest.fixture(autouse=True)
def _nothing_stays_settled():
    """Engines and windows settle the heap (appupdater/heap.py) as a long-running app should;
    across hundreds of tests that would keep every test's garbage cycles for good."""
    yield
    gc.unfreeze()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "appupdater.sqlite3"


@pytest.fixture
def db(db_path):
    """A fresh file database (files, not :memory:, so worker threads see the same data)."""
    database = open_database(str(db_path))
    yield database
    close_database()
    db_proxy.initialize(None)


@pytest.fixture
def demo_db(db):
    from appupdater.demo.fleet import load_demo

    load_demo(devices=120, seed=3)
    return db


@pytest.fixture(scope="module")
def pg_url():
    """A throwaway PostgreSQL server for one test module (skipped where there is none)."""
    from tests.pg_server import serve_postgres

    yield from serve_postgres()


@pytest.fixture
def pg(pg_url):
    """The App Updater schema on that server, dropped again after the test."""
    from appupdater.store.tables import ALL_MODELS

    database = open_database(pg_url)
    yield database
    database.drop_tables(list(reversed(ALL_MODELS)), cascade=True)
    close_database()
    db_proxy.initialize(None)


@pytest.fixture
def receiver():
    """A local HTTP server receiving webhooks (tests/webhook_receiver.py)."""
    from tests.webhook_receiver import Receiver

    server = Receiver()
    yield server
    server.close()
