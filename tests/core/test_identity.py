"""The acting user: the operating-system account of the process on SQLite (never what LOGNAME
or USER say: anyone can set those to another person's name), PostgreSQL's session_user on a
server, with the host."""

from __future__ import annotations

import os
import platform
import pwd

from appupdater.core.identity import who


def test_on_sqlite_the_account_of_the_process_not_what_the_environment_says(db, monkeypatch):
    account = pwd.getpwuid(os.geteuid()).pw_name
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "mallory-pretending-to-be-bob")
    found = who()
    assert (found.user, found.os_user, found.host) == (account, account, platform.node())


def test_on_postgresql_the_session_user(pg, pg_url, monkeypatch):
    account = pwd.getpwuid(os.geteuid()).pw_name
    pg.execute_sql("DROP ROLE IF EXISTS carol_role")
    pg.execute_sql("CREATE ROLE carol_role LOGIN SUPERUSER")
    try:
        assert who().user == pg.execute_sql("SELECT current_user").fetchone()[0]
        assert who().os_user == account
        pg.execute_sql("SET SESSION AUTHORIZATION carol_role")
        # session_user is who logged in, SET ROLE cannot change it; SESSION AUTHORIZATION can
        # only by a superuser, and is what a login as carol_role gives
        assert who().user == "carol_role"
    finally:
        pg.execute_sql("RESET SESSION AUTHORIZATION")
        pg.execute_sql("DROP ROLE IF EXISTS carol_role")
