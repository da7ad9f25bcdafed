"""PostgreSQL URLs: handed to libpq whole, so the standard ways to give a password work, and
shown only with the password hidden."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote, urlsplit

import peewee

from appupdater.errors import DatabaseError


def is_url(location: str) -> bool:
    return "://" in location


CONNECT_TIMEOUT_S = 10  # libpq's connect_timeout: a server that does not answer
STATEMENT_TIMEOUT_MS = 60_000  # the server cancels a statement running longer
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresext")
_PASSWORD_PARAM = re.compile(r"(?i)((?:^|&)password=)[^&]*")


def redact(location: str) -> str:
    """`location` fit to show in a message or a log: a URL's password (in its user part or a
    ``password=`` parameter) replaced by ``***``; anything else as it is."""
    if not is_url(location):
        return location
    scheme, _, rest = location.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{hosts}"
    path, question, query = path.partition("?")
    query = _PASSWORD_PARAM.sub(r"\1***", query)
    return f"{scheme}://{netloc}{slash}{path}{question}{query}"


def _secrets_of(location: str) -> list[str]:
    """The password of a URL as written and decoded, to scrub from a driver's messages."""
    parts = urlsplit(location)
    userinfo, at, _ = parts.netloc.rpartition("@")
    found = [userinfo.partition(":")[2]] if at and ":" in userinfo else []
    found += [m.group(0).partition("=")[2] for m in _PASSWORD_PARAM.finditer(parts.query)]
    return [each for raw in found if raw for each in {raw, unquote(raw)}]


def scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class PostgresDatabase(peewee.PostgresqlDatabase):
    """PostgreSQL reached by a libpq URL given to the driver whole, so that libpq fills in
    what the URL leaves out the standard way (PGPASSWORD, ~/.pgpass or PGPASSFILE, a service
    file, the other PG* variables) and decodes percent-encoded parts itself."""

    def __init__(self, url: str, where: str, secrets: list[str], **params: Any) -> None:
        self.where = where  # what `describe` shows: never the password
        self.secrets = secrets
        super().__init__(where, dsn=url, **params)

    def _connect(self) -> object:
        import psycopg2  # type: ignore[import-untyped]

        conn = psycopg2.connect(**self.connect_params)
        conn.autocommit = True
        return conn


def open_postgres(location: str) -> PostgresDatabase:
    secrets = _secrets_of(location)
    try:
        from psycopg2 import ProgrammingError
        from psycopg2.extensions import parse_dsn  # type: ignore[import-untyped]
    except ImportError as exc:
        raise DatabaseError(
            f"cannot use the database {redact(location)}: PostgreSQL support is not installed. "
            "Install it with pip install 'appupdater[postgres]' (or the psycopg2 package of "
            "your system)"
        ) from exc
    url = "postgresql" + location[location.index("://") :]
    try:
        params = parse_dsn(url)
    except ProgrammingError as exc:
        why = scrub(one_line(str(exc)), secrets)
        raise DatabaseError(f"cannot use the database URL {redact(location)}: {why}") from exc
    host = params.get("host") or os.environ.get("PGHOST")
    name = params.get("dbname") or os.environ.get("PGDATABASE")
    service = params.get("service") or os.environ.get("PGSERVICE")
    if name:
        where = f"{name} on {host or 'localhost'}"
    elif service:
        where = f"service {service}"
    else:
        where = f"the default database on {host or 'localhost'}"
    return PostgresDatabase(url, where, secrets, **session_defaults(params))


def session_defaults(params: dict[str, str]) -> dict[str, Any]:
    """Our connect and statement timeouts, for what the URL and the environment (libpq's
    PGCONNECT_TIMEOUT, PGOPTIONS) leave open: a server that does not answer or a statement that
    never ends costs a bounded time instead of hanging the program. Options of the URL or of
    PGOPTIONS are kept (libpq reads PGOPTIONS only when none are given)."""
    defaults: dict[str, Any] = {}
    if "connect_timeout" not in params and not os.environ.get("PGCONNECT_TIMEOUT"):
        defaults["connect_timeout"] = CONNECT_TIMEOUT_S
    options = params.get("options") or os.environ.get("PGOPTIONS", "")
    if "statement_timeout" not in options:
        ours = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
        defaults["options"] = f"{options.strip()} {ours}".strip()
    return defaults


def one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())
