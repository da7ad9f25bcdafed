"""A deployment's event log: one typed line per thing that happened, written in bulk."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from appupdater.core.words import plural
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
        [(d, to_db_time(e.at), e.level.value, storable(e.message)) for d, e in entries],
    )


def storable(message: str) -> str:
    """A device's words as a database keeps them: a NUL character (which an agent's log line may
    carry, and PostgreSQL's text cannot hold) is written as `\\x00`."""
    return message.replace("\x00", "\\x00") if "\x00" in message else message


def describe_delay(delay: timedelta) -> str:
    """A duration as people say it, to the precision that matters at its size: `0.5 s`,
    `45 s`, `90 s`, `4 min 5 s`, `12 min`, `1 h`, `1 h 5 min`, `2 days 3 h`."""
    total = max(0.0, delay.total_seconds())
    if total < 10:
        return f"{total:.1f} s".replace(".0 s", " s")
    seconds = round(total)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 600:
        minutes, seconds = divmod(seconds, 60)
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    minutes = round(total / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(round(total / 3600), 24)
    return f"{plural(days, 'day')} {hours} h" if hours else plural(days, "day")
