"""Field types shared by the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar, overload

import peewee

# Fixed width, so that text order is time order in SQLite.
_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

_V = TypeVar("_V")


class _Holds(Generic[_V]):
    """For the checker only: a model's attribute of this field holds a `_V`. peewee puts
    accessors on the model class in place of fields, so none of this exists at run time."""

    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: object) -> Self: ...
        @overload
        def __get__(self, instance: object, owner: object) -> _V: ...
        def __get__(self, instance: object, owner: object) -> Self | _V: ...
        def __set__(self, instance: object, value: _V) -> None: ...


class UTCDateTimeField(peewee.DateTimeField, _Holds[_V]):
    """A moment in time, stored as naive UTC and read back as an aware UTC datetime.

    Naive datetimes are refused on write: a naive value is ambiguous and is how local times
    end up stored as if they were UTC.
    """

    if TYPE_CHECKING:
        # `datetime`, or `datetime | None` when nullable (as peewee's own stubs type
        # DateTimeField)
        @overload
        def __new__(
            cls, *args: object, null: Literal[True], **kwargs: object
        ) -> UTCDateTimeField[datetime | None]: ...
        @overload
        def __new__(
            cls, *args: object, null: Literal[False] = ..., **kwargs: object
        ) -> UTCDateTimeField[datetime]: ...
        def __new__(cls, *args: object, **kwargs: object) -> UTCDateTimeField[Any]: ...

    def db_value(self, value: datetime | str | peewee.Node | None) -> object:
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

    def python_value(self, value: datetime | str | None) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.strptime(value if "." in value else value + ".0", _FORMAT)
        return value.replace(tzinfo=UTC)


@overload
def to_db_time(value: datetime) -> str: ...
@overload
def to_db_time(value: None) -> None: ...
@overload
def to_db_time(value: datetime | None) -> str | None: ...
def to_db_time(value: datetime | None) -> str | None:
    """The SQLite text form of an aware datetime, for the bulk write paths."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).strftime(_FORMAT)


# How far the database server's clock is from this machine's (store/dbclock.py measures it on
# PostgreSQL, where several workstations share the records; zero on SQLite): every stamp this
# process writes is on the server's time, so a workstation whose clock is wrong writes no
# audit entry, expiry or heartbeat in the future or the past.
_server_offset = timedelta(0)


def set_server_offset(offset: timedelta) -> None:
    global _server_offset
    _server_offset = offset


def server_offset() -> timedelta:
    return _server_offset


def utcnow() -> datetime:
    """Now, on the database server's clock (this machine's, corrected: see above)."""
    return datetime.now(UTC) + _server_offset


class JSONField(peewee.TextField, _Holds[_V]):
    """A JSON document stored as text (labels and similar small mappings). Declare what it
    holds on the model (``labels: JSONField[Labels] = JSONField(...)``) for the checker."""

    def db_value(self, value: object) -> object:
        if value is None or isinstance(value, peewee.Node):
            return value
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    def python_value(self, value: str | None) -> _V | None:
        if value is None:
            return None
        document: _V = json.loads(value)  # trusted to be what the model declares: we wrote it
        return document
