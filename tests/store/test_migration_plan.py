"""What a migration will do, said once for `appupdater migrate` and the desktop app: the
backup command names the server, port, user and database of the connection, ready to paste,
and never the password."""

from __future__ import annotations

import pytest

from appupdater.store.db import make_database
from appupdater.store.migration_plan import pg_dump_command


@pytest.mark.parametrize(
    ("url", "command"),
    [
        (
            "postgresql://alice:s%40cret@db.example:5433/fleet",
            "pg_dump --format=custom --file=fleet-schema5.dump --host=db.example --port=5433 "
            "--username=alice fleet",
        ),
        (
            "postgresql://db.example/fleet?password=hidden",
            "pg_dump --format=custom --file=fleet-schema5.dump --host=db.example fleet",
        ),
        (
            "postgresql://?service=team",
            "pg_dump --format=custom --file=appupdater-schema5.dump --dbname=service=team",
        ),
    ],
)
def test_the_backup_command_names_the_connection_without_the_password(url, command):
    pytest.importorskip("psycopg2")
    said = pg_dump_command(make_database(url), 5)
    assert said == command
    assert "cret" not in said and "hidden" not in said
