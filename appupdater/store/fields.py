"""Field types shared by the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import peewee

# Fixed width, so that text order is time order in SQLite.
_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UTCDateTimeField(peewee.DateTimeField):
    """A moment in time, stored as naive UTC and read back as an aware UTC datetime.

    Naive datetimes are refused on write: a naive value is ambiguous and is how local times
    end up stored as if they were UTC.
    """

    def db_value(self, value: datetime | None):
        if value is None or isinstance(value, peewee.Node):
            return value
        if isinstance(value, str):
            return value
        if value.tzinfo is None:
            raise ValueError(f"{self.name}: naive datetime {value!r}; pass an aware datetime")
        naive = value.astimezone(UTC).replace(tzinfo=None)
        database = self.model._meta.database
        if isinstance(getattr(database, "obj", database), peewee.SqliteDatabase):
            return naive.strftime(_FORMAT)
        return naive

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.strptime(value if "." in value else value + ".0", _FORMAT)
        return value.replace(tzinfo=UTC)


def to_db_time(value: datetime | None) -> str | None:
    """The SQLite text form of an aware datetime, for the bulk write paths."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).strftime(_FORMAT)


def utcnow() -> datetime:
    return datetime.now(UTC)


class JSONField(peewee.TextField):
    """A JSON document stored as text (labels and similar small mappings)."""

    def db_value(self, value):
        if value is None or isinstance(value, peewee.Node):
            return value
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    def python_value(self, value):
        return None if value is None else json.loads(value)
