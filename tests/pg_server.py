"""A throw-away PostgreSQL server on loopback, for the tests that prove the models run there."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """initdb + pg_ctl in a temporary folder; as root, runs as the `postgres` user."""

    def __init__(self, bindir: Path, settings: dict[str, str] | None = None):
        self.bindir = bindir
        self.settings = (
            settings or {}
        )  # more server settings (`-c name=value`), e.g. max_connections
        self.root = Path(tempfile.mkdtemp(prefix="appupdater-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.url = ""  # set by serve_postgres_server

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        if self.as_root:
            shutil.chown(self.root, "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "appupdater",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self._pg_ctl_start()
        self._run(
            str(self.bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "appupdater",
            "fleet",
        )
        return f"postgresql://appupdater@127.0.0.1:{self.port}/fleet"

    def restart(self, pause: float = 0.0) -> None:
        """`pg_ctl stop -m fast` (every connection is cut), `pause` seconds without a server,
        then the same server again on the same port, with its data."""
        import time

        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        time.sleep(pause)
        self._pg_ctl_start()

    def _pg_ctl_start(self) -> None:
        """Start the server on its data folder and port (waiting until it answers)."""
        self._run(
            str(self.bindir / "pg_ctl"),
            *("-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o"),
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            + "".join(f" -c {name}={value}" for name, value in self.settings.items()),
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def serve_postgres():
    """A module fixture's body: a throwaway PostgreSQL server's URL, skipping the tests when
    psycopg2 or the server binaries are missing; stopped afterwards."""
    servers = serve_postgres_server()
    try:
        yield next(servers).url
    finally:
        servers.close()


def serve_postgres_server():
    """Like `serve_postgres`, but yields the `PostgresServer` itself (its URL from `url`), for
    tests that restart it."""
    import pytest

    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install '.[postgres]')")
    bindir = find_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (Debian package postgresql)")
    server = PostgresServer(bindir)
    try:
        server.url = server.start()
        yield server
    finally:
        server.stop()
