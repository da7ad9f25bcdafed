"""Database URLs and passwords: the standard PostgreSQL ways to give a password (PGPASSWORD,
~/.pgpass, a service file) reach libpq untouched, percent-encoded passwords are decoded, and no
message, log line or error we print shows a password."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

import pytest

from appupdater.cli import main
from appupdater.errors import DatabaseError
from appupdater.store.db import close_database, describe, make_database, open_database
from appupdater.store.models import db as proxy
from appupdater.store.postgres import redact
from tests.pg_server import PostgresServer, find_bin

SECRET = "p@ss:w/rd%"
ENCODED = "p%40ss%3Aw%2Frd%25"


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        (
            "postgresql://alice:s3cret@db.example:5432/fleet",
            "postgresql://alice:***@db.example:5432/fleet",
        ),
        ("postgres://alice:s3cret@db.example/fleet", "postgres://alice:***@db.example/fleet"),
        ("postgresql://alice@db.example/fleet", "postgresql://alice@db.example/fleet"),
        (
            "postgresql://db.example/fleet?sslmode=require&password=s3cret",
            "postgresql://db.example/fleet?sslmode=require&password=***",
        ),
        ("postgresql:///?service=team", "postgresql:///?service=team"),
        ("postgressql://alice:s3cret@h/fleet", "postgressql://alice:***@h/fleet"),
        ("/home/alice/fleet.sqlite3", "/home/alice/fleet.sqlite3"),
        ("sqlite:///tmp/fleet.sqlite3", "sqlite:///tmp/fleet.sqlite3"),
    ],
)
def test_redact_hides_the_password_and_nothing_else(location, shown):
    assert redact(location) == shown


def _one_line_without_secret(capsys, argv: list[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "s3cret" not in err and SECRET not in err and ENCODED not in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_a_mistyped_scheme_is_one_line_without_the_password(capsys):
    err = _one_line_without_secret(
        capsys, ["--database", "postgressql://alice:s3cret@localhost/fleet", "status"]
    )
    assert "postgressql" in err and "scheme" in err and "postgresql://" in err


def test_a_missing_driver_says_what_to_install_without_the_password(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # import psycopg2 fails
    monkeypatch.delitem(sys.modules, "psycopg2.extensions", raising=False)
    with pytest.raises(DatabaseError, match=r"appupdater\[postgres\]") as caught:
        make_database("postgresql://alice:s3cret@localhost/fleet")
    assert "s3cret" not in str(caught.value) and "alice:***@localhost" in str(caught.value)
    _one_line_without_secret(
        capsys, ["--database", "postgresql://alice:s3cret@localhost/fleet", "status"]
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_one_line_without_the_password(capsys, caplog):
    pytest.importorskip("psycopg2")
    caplog.set_level(logging.DEBUG)
    url = f"postgresql://alice:s3cret@127.0.0.1:{_closed_port()}/fleet"
    err = _one_line_without_secret(capsys, ["--database", url, "status"])
    assert "127.0.0.1" in err
    assert "s3cret" not in caplog.text


def test_a_malformed_url_does_not_echo_the_password(capsys):
    pytest.importorskip("psycopg2")
    err = _one_line_without_secret(
        capsys, ["--database", "postgresql://alice:s3cret%zz@localhost/fleet", "status"]
    )
    assert "alice:***@localhost" in err


def test_describe_names_the_server_and_database_never_the_password():
    pytest.importorskip("psycopg2")
    database = make_database(f"postgresql://alice:{ENCODED}@db.example:5433/fleet")
    assert describe(database) == "fleet on db.example"
    assert describe(make_database("postgresql:///?service=team")) == "service team"


# -- a password-protected server ------------------------------------------------------------


@pytest.fixture(scope="module")
def secured():
    """A throwaway server on which the role `secured` must give its password (SECRET) and owns
    the database `teamfleet`: yields (host, port)."""
    psycopg2 = pytest.importorskip("psycopg2")
    bindir = find_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (Debian package postgresql)")
    server = PostgresServer(bindir)
    try:
        trusted = server.start()
        conn = psycopg2.connect(trusted)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("CREATE ROLE secured LOGIN PASSWORD %s", (SECRET,))
            cursor.execute("CREATE DATABASE teamfleet OWNER secured")
        conn.close()
        hba = server.data / "pg_hba.conf"
        hba.write_text("host all secured 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        server._run(str(server.bindir / "pg_ctl"), "-D", str(server.data), "reload")
        wrong = f"postgresql://secured:wrong@127.0.0.1:{server.port}/teamfleet"
        for _ in range(200):  # until the reload took effect: a wrong password is refused
            try:
                psycopg2.connect(wrong).close()
            except psycopg2.OperationalError:
                break
        else:
            pytest.fail("the server never asked for a password")
        yield "127.0.0.1", server.port
    finally:
        server.stop()


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGUSER", "PGHOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pgpass of the person running the tests
    yield monkeypatch
    close_database()
    proxy.initialize(None)


def _opens(url: str) -> None:
    database = open_database(url)
    assert database.execute_sql("SELECT current_user").fetchone() == ("secured",)
    close_database()


@pytest.mark.integration
def test_a_percent_encoded_password_is_decoded(secured, clean_env):
    host, port = secured
    _opens(f"postgresql://secured:{ENCODED}@{host}:{port}/teamfleet")


@pytest.mark.integration
def test_a_url_without_password_uses_pgpassword(secured, clean_env):
    host, port = secured
    clean_env.setenv("PGPASSWORD", SECRET)
    _opens(f"postgresql://secured@{host}:{port}/teamfleet")


def _pgpass(path: Path, host: str, port: int) -> Path:
    escaped = SECRET.replace("\\", "\\\\").replace(":", "\\:")
    path.write_text(f"{host}:{port}:teamfleet:secured:{escaped}\n")
    path.chmod(0o600)  # libpq ignores a password file others can read
    return path


@pytest.mark.integration
def test_a_url_without_password_uses_the_pgpass_file_in_home(secured, clean_env, tmp_path):
    host, port = secured
    _pgpass(tmp_path / ".pgpass", host, port)
    _opens(f"postgresql://secured@{host}:{port}/teamfleet")


@pytest.mark.integration
def test_a_url_without_password_uses_pgpassfile(secured, clean_env, tmp_path):
    host, port = secured
    clean_env.setenv("PGPASSFILE", str(_pgpass(tmp_path / "team.pgpass", host, port)))
    _opens(f"postgresql://secured@{host}:{port}/teamfleet")


@pytest.mark.integration
def test_a_service_file_names_the_server(secured, clean_env, tmp_path):
    host, port = secured
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[team]\nhost={host}\nport={port}\ndbname=teamfleet\nuser=secured\n")
    clean_env.setenv("PGSERVICEFILE", str(services))
    clean_env.setenv("PGPASSFILE", str(_pgpass(tmp_path / "team.pgpass", host, port)))
    _opens("postgresql:///?service=team")
    clean_env.setenv("PGSERVICE", "team")
    _opens("postgresql://")


@pytest.mark.integration
def test_a_wrong_password_is_one_line_without_it(secured, clean_env, capsys):
    host, port = secured
    clean_env.setenv("PGPASSWORD", "s3cret")
    err = _one_line_without_secret(
        capsys, ["--database", f"postgresql://secured@{host}:{port}/teamfleet", "status"]
    )
    assert "password authentication failed" in err
    err = _one_line_without_secret(
        capsys, ["--database", f"postgresql://secured:s3cret@{host}:{port}/teamfleet", "status"]
    )
    assert "password authentication failed" in err
    assert os.environ["PGPASSWORD"] == "s3cret"
