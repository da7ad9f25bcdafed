"""Who is acting: the user App Updater records for an administrator's action.

The database's notion of the user where it has one — PostgreSQL's `session_user`, the role the
workstation logged in as, which a team can trust more than a name each workstation says about
itself — otherwise (SQLite) the operating-system user. Both are kept, with the host.

On SQLite the check that a second person approves is as strong as the file's permissions:
whoever can write the database file can write any row. A team that needs the four-eyes rule to
hold against its own members shares a PostgreSQL database, where each logs in as their role."""

from __future__ import annotations

import getpass
import os
import platform
from dataclasses import dataclass

from appupdater.store.bulk import is_postgres
from appupdater.store.models import db


@dataclass(frozen=True)
class Who:
    user: str  # the database's user (PostgreSQL), else the operating-system user
    os_user: str
    host: str


def os_user() -> str:
    """The account this process runs as. On POSIX from the process's own user id, never from
    LOGNAME or USER, which anyone can set to another person's name (and so approve their own
    run). Elsewhere (Windows) the name the system gives the session."""
    if os.name != "posix":
        return getpass.getuser()
    import pwd

    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # no name for this uid (a container): say which uid
        return f"uid {uid}"


def who() -> Who:
    """The acting user, as the database in use sees them (a query on PostgreSQL)."""
    mine = os_user()
    database = db.obj
    user = mine
    if database is not None and is_postgres(database):
        row = database.execute_sql("SELECT session_user").fetchone()
        user = str(row[0])
    return Who(user, mine, platform.node())
