"""Who is acting: the user App Updater records for an administrator's action.

The database's notion of the user where it has one — PostgreSQL's `session_user`, the role the
workstation logged in as, which a team can trust more than a name each workstation says about
itself — otherwise (SQLite) the operating-system user. Both are kept, with the host."""

from __future__ import annotations

import getpass
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
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): say which uid
        import os

        return f"uid {os.getuid()}"


def who() -> Who:
    """The acting user, as the database in use sees them (a query on PostgreSQL)."""
    mine = os_user()
    database = db.obj
    user = mine
    if database is not None and is_postgres(database):
        row = database.execute_sql("SELECT session_user").fetchone()
        user = str(row[0])
    return Who(user, mine, platform.node())
