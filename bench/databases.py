"""Where a bench runs: `--database` as the benches take it.

- not given: a SQLite file in a temporary folder (removed afterwards);
- `pg`: a throwaway PostgreSQL server (tests/pg_server.py; Debian's postgresql), stopped after,
  taking at least `connections` clients (an engine holds a few connections, whatever its
  concurrency: its workers write through one writer thread);
- a path or a URL: that database. It must hold no fleet yet (the bench adds one and leaves it).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HELP = (
    "a SQLite path or a PostgreSQL URL holding no fleet yet; `pg` starts a throwaway "
    "PostgreSQL server (default: a temporary SQLite file)"
)


@contextmanager
def bench_location(database: str | None, connections: int = 0) -> Iterator[str]:
    """The location (path or URL) the bench opens, prepared as the module docstring says."""
    if database and database != "pg":
        yield database
        return
    if database is None:
        with tempfile.TemporaryDirectory() as folder:
            yield str(Path(folder) / "bench.sqlite3")
        return
    sys.path.insert(0, str(ROOT))
    from tests.pg_server import PostgresServer, find_bin

    bindir = find_bin()
    if bindir is None:
        sys.exit("no PostgreSQL server binaries (Debian package postgresql); give a URL")
    server = PostgresServer(bindir, {"max_connections": str(max(100, connections))})
    try:
        yield server.start()
    finally:
        server.stop()


def refuse_a_fleet() -> None:
    """Stop the bench when the database it opened already holds devices: its numbers would
    mean nothing, and it must not add a rollout to someone's fleet."""
    from appupdater.store.models import Device

    if Device.select().exists():
        sys.exit("the database already holds devices; give the bench an empty database")


def kind() -> str:
    """`postgresql` or `sqlite`: what the open database is (never its URL: it may hold a
    password)."""
    import peewee

    from appupdater.store.models import db

    return "postgresql" if isinstance(db.obj, peewee.PostgresqlDatabase) else "sqlite"
