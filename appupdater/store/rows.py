"""Typed rows of `.tuples()` queries and of raw SQL, for the type checker.

peewee's stubs type a model's select as yielding model instances, also after `.tuples()`, when
it yields plain tuples; a driver's cursor is not typed at all. Each helper takes the row's type
(``tuple[int, str]``, written at the call next to the columns it selects) and returns what
peewee or the driver returns, cast: the same iterable or value, with no wrapper and no cost per
row. The row type is a promise the checker cannot verify against the selected columns; keep the
two side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar, cast

import peewee

from appupdater.store.models import db

Row = TypeVar("Row", bound=tuple[object, ...])
Value = TypeVar("Value")
M = TypeVar("M", bound=peewee.Model)


def tuples(query: peewee.BaseQuery, row: type[Row]) -> Iterable[Row]:
    """The rows of a select as tuples (`query.tuples()`); iterating runs the query."""
    return cast("Iterable[Row]", query.tuples())


def returned(query: peewee.BaseQuery, row: type[Row]) -> Iterable[Row]:
    """Run a write query with `.returning(...)` now and give the rows it returned."""
    return cast("Iterable[Row]", query.tuples().execute())


def first(query: peewee.SelectBase, row: type[Row]) -> Row | None:
    """The first row of a select, or None when it has none."""
    return cast("Row | None", query.tuples().first())


def one(query: peewee.ModelSelect[M], row: type[Row]) -> Row:
    """The one row of a select; raises the model's `DoesNotExist` when there is none."""
    return cast(Row, query.tuples().get())


def scalar(query: peewee.SelectBase, value: type[Value]) -> Value | None:
    """The first column of the first row of a select, or None when it has no row."""
    return cast("Value | None", query.scalar())


def sql_rows(sql: str, params: Sequence[object], row: type[Row]) -> Iterable[Row]:
    """Rows of raw SQL on the models' database, as the driver gives them (no field conversions:
    SQLite's times are text, its booleans 0/1): the read path for 100,000 rows. Iterate once."""
    return cast("Iterable[Row]", db.execute_sql(sql, params))


def sql_fetchall(sql: str, params: Sequence[object], row: type[Row]) -> list[Row]:
    """`sql_rows`, all fetched at once (the cursor's `fetchall()`)."""
    return cast("list[Row]", db.execute_sql(sql, params).fetchall())
