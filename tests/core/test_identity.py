"""The acting user: the operating-system user on SQLite (as LOGNAME/USER say), PostgreSQL's
session_user on a server, with the host."""

from __future__ import annotations

import platform

from appupdater.core.identity import who


def test_on_sqlite_the_operating_system_user(db, monkeypatch):
    monkeypatch.setenv("LOGNAME", "alice")
    found = who()
    assert (found.user, found.os_user, found.host) == ("alice", "alice", platform.node())


def test_on_postgresql_the_session_user(pg, pg_url, monkeypatch):
    monkeypatch.setenv("LOGNAME", "alice")
    pg.execute_sql("DROP ROLE IF EXISTS carol_role")
    pg.execute_sql("CREATE ROLE carol_role LOGIN SUPERUSER")
    try:
        assert who().user == pg.execute_sql("SELECT current_user").fetchone()[0]
        assert who().os_user == "alice"
        pg.execute_sql("SET SESSION AUTHORIZATION carol_role")
        # session_user is who logged in, SET ROLE cannot change it; SESSION AUTHORIZATION can
        # only by a superuser, and is what a login as carol_role gives
        assert who().user == "carol_role"
    finally:
        pg.execute_sql("RESET SESSION AUTHORIZATION")
        pg.execute_sql("DROP ROLE IF EXISTS carol_role")
