"""A PostgreSQL server that does not answer, or a statement that never ends, costs a bounded
time: a connect timeout and a statement timeout apply unless the URL or the environment (the
standard libpq ways) say otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appupdater.errors import DatabaseError
from appupdater.store.db import close_database, make_database, open_database, translate_errors
from appupdater.store.models import db as proxy
from appupdater.store.postgres import CONNECT_TIMEOUT_S, STATEMENT_TIMEOUT_MS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_pg_env(monkeypatch):
    for name in ("PGCONNECT_TIMEOUT", "PGOPTIONS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_by_default_connecting_and_statements_are_bounded(no_pg_env):
    pytest.importorskip("psycopg2")
    params = make_database("postgresql://alice@db.example/fleet").connect_params
    assert CONNECT_TIMEOUT_S == 10 and STATEMENT_TIMEOUT_MS == 60_000
    assert params["connect_timeout"] == 10
    assert params["options"] == "-c statement_timeout=60000"


def test_the_url_and_the_environment_choose_other_timeouts(no_pg_env):
    pytest.importorskip("psycopg2")
    params = make_database(
        "postgresql://alice@db.example/fleet?connect_timeout=3"
        "&options=-c%20statement_timeout%3D5s%20-c%20search_path%3Dfleet"
    ).connect_params
    assert "connect_timeout" not in params and "options" not in params  # libpq reads the URL's
    params = make_database(
        "postgresql://alice@db.example/fleet?options=-c%20search_path%3Dfleet"
    ).connect_params
    assert params["options"] == "-c search_path=fleet -c statement_timeout=60000"
    no_pg_env.setenv("PGCONNECT_TIMEOUT", "4")
    no_pg_env.setenv("PGOPTIONS", "-c statement_timeout=0")
    params = make_database("postgresql://alice@db.example/fleet").connect_params
    assert "connect_timeout" not in params and "options" not in params
    no_pg_env.setenv("PGOPTIONS", "-c search_path=fleet")
    params = make_database("postgresql://alice@db.example/fleet").connect_params
    assert params["options"] == "-c search_path=fleet -c statement_timeout=60000"


def test_status_against_a_hung_server_ends_with_one_line_within_the_timeout(tmp_path):
    """A server that accepts the connection and never says a word (the kernel completes the
    handshake of a listening socket that nobody accepts)."""
    pytest.importorskip("psycopg2")
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        port = hung.getsockname()[1]
        env = {**os.environ, "PGCONNECT_TIMEOUT": "2", "HOME": str(tmp_path)}
        started = time.monotonic()
        url = f"postgresql://alice@127.0.0.1:{port}/fleet"
        result = subprocess.run(
            [sys.executable, "-m", "appupdater", "--database", url, "status"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=30,
            check=False,
        )
        took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "timeout" in lines[0], result.stderr
    assert "127.0.0.1" in lines[0]
    assert took < 15


@pytest.mark.integration
def test_statements_get_the_default_timeout_and_the_urls_wins(pg_url, no_pg_env):
    try:
        database = open_database(pg_url)
        assert database.execute_sql("SHOW statement_timeout").fetchone() == ("1min",)
        database = open_database(pg_url + "?options=-c%20statement_timeout%3D100")
        with pytest.raises(DatabaseError, match="statement timeout"), translate_errors(database):
            database.execute_sql("SELECT pg_sleep(2)")
    finally:
        close_database()
        proxy.initialize(None)
