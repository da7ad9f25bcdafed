"""Background tasks close the database connections they open: a tray app runs for weeks, and
Qt's pool threads do not keep Python's per-thread state between tasks, so a connection left to
the thread is dropped unclosed after every task, for the garbage collector to find."""

from __future__ import annotations

import gc
import sqlite3

import pytest

from appupdater.store.models import Device
from appupdater.ui.tasks import BackgroundTasks


def open_connections() -> int:
    """SQLite connections alive in this process and not closed."""
    count = 0
    for thing in gc.get_objects():
        if isinstance(thing, sqlite3.Connection):
            try:
                thing.total_changes  # noqa: B018 - raises on a closed connection
            except sqlite3.ProgrammingError:
                continue
            count += 1
    return count


def test_every_task_closes_its_connection(qtbot, db):
    Device.select().count()  # this thread's own connection, open throughout
    gc.collect()
    gc.disable()  # what is left unclosed stays visible instead of being finalized at random
    try:
        before = open_connections()
        tasks = BackgroundTasks(threads=1)
        results = []
        for _ in range(5):
            tasks.submit(lambda: Device.select().count(), results.append, pytest.fail)
        qtbot.waitUntil(lambda: len(results) == 5)
        tasks.shutdown()
        assert open_connections() == before
    finally:
        gc.enable()
