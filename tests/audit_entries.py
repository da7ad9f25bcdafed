"""Audit entries for the tests of reading them: written through core/audit.record (the one
writer), as several users on several hosts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest import mock

from appupdater.core import audit
from appupdater.core.identity import Who
from appupdater.store.db import writing

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
PEOPLE = (
    Who("alice", "alice", "ws-alice"),
    Who("bob", "bob", "ws-bob"),
    Who("ops_role", "carol", "ws-carol"),  # a PostgreSQL role other than the OS user
)
ACTIONS = (audit.APPROVE, audit.CANCEL, audit.IMPORT, audit.PAUSE, audit.SETTINGS)


@contextmanager
def acting_as(person: Who) -> Iterator[None]:
    """record() writes `person` as the acting user."""
    with mock.patch.object(audit, "who", return_value=person):
        yield


def record_as(person: Who, action: str, at: datetime, **details: object) -> None:
    with acting_as(person), writing():
        audit.record(action, now=at, **details)  # type: ignore[arg-type]


def fill(count: int, start: datetime = START, step: timedelta = timedelta(hours=1)) -> None:
    """`count` entries an hour apart from `start`, by turns of PEOPLE and ACTIONS; each names a
    run and a device, every seventh has a note, every eleventh was refused."""
    with writing():
        for i in range(count):
            person = PEOPLE[i % len(PEOPLE)]
            with acting_as(person):
                audit.record(
                    ACTIONS[i % len(ACTIONS)],
                    objects={"runs": [i + 1], "devices": [f"edge-{i % 40:02d}"]},
                    run=i + 1,
                    note="night shift" if i % 7 == 0 else "",
                    outcome=audit.refused("already finished") if i % 11 == 0 else audit.DONE,
                    now=start + i * step,
                )
