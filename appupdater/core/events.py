"""A deployment's event log: one typed line per thing that happened, written in bulk."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from appupdater.store.bulk import insert_rows
from appupdater.store.fields import to_db_time
from appupdater.store.models import DeploymentEvent


class EventLevel(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a deployment's log."""

    at: datetime
    level: EventLevel
    message: str

    @classmethod
    def info(cls, at: datetime, message: str) -> Event:
        return cls(at, EventLevel.INFO, message)

    @classmethod
    def warning(cls, at: datetime, message: str) -> Event:
        return cls(at, EventLevel.WARNING, message)

    @classmethod
    def error(cls, at: datetime, message: str) -> Event:
        return cls(at, EventLevel.ERROR, message)


_FIELDS = (
    DeploymentEvent.deployment,
    DeploymentEvent.at,
    DeploymentEvent.level,
    DeploymentEvent.message,
)


def log_events(entries: Iterable[tuple[int, Event]]) -> None:
    """Write (deployment id, event) pairs in one statement; call it inside the transaction of
    the change the events describe."""
    insert_rows(
        DeploymentEvent,
        _FIELDS,
        [(d, to_db_time(e.at), e.level.value, e.message) for d, e in entries],
    )


def describe_delay(delay: timedelta) -> str:
    """`2 h 13 min`, `4 min 5 s`, `12 s`, `0.5 s`."""
    if delay.total_seconds() < 10:
        return f"{delay.total_seconds():.1f} s".replace(".0 s", " s")
    seconds = int(delay.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"
