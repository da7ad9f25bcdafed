"""The fast path for the few bulk writes (import, run creation).

peewee's `insert_many` builds a query object per chunk and is ~15x slower than the driver's
`executemany` for 100k rows (measured, DESIGN.md). These helpers keep the models as the only
description of the schema: table and column names come from the model's metadata. Values must
already be in database form (ids, not model instances; times through `to_db_time`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import peewee

from appupdater.store.models import BaseModel


def _quote(database: peewee.Database, name: str) -> str:
    left, right = database.quote
    return f"{left}{name}{right}"


def insert_sql(
    model: type[BaseModel], fields: Sequence[peewee.Field], *, ignore: bool = False
) -> str:
    """An INSERT statement for `fields` of `model`, with the driver's parameter style."""
    database = model._meta.database
    columns = ", ".join(_quote(database, field.column_name) for field in fields)
    params = ", ".join([database.param] * len(fields))
    table = _quote(database, model._meta.table_name)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({params})"
    if ignore:
        sql += " ON CONFLICT DO NOTHING"
    return sql


def insert_rows(
    model: type[BaseModel],
    fields: Sequence[peewee.Field],
    rows: Iterable[Sequence[object]],
    *,
    ignore: bool = False,
) -> None:
    """Insert `rows` (tuples in the order of `fields`) in one `executemany`.

    Fields left out get the model's Python-side default, computed once for the whole call, as
    peewee would. Call it inside a transaction; with `ignore`, rows that break a unique index
    are skipped.
    """
    database = model._meta.database
    extra_fields, extra_values = _defaults(model, fields)
    if extra_fields:
        rows = (tuple(row) + extra_values for row in rows)
    cursor = database.cursor()
    cursor.executemany(insert_sql(model, [*fields, *extra_fields], ignore=ignore), rows)


def _defaults(model: type[BaseModel], fields: Sequence[peewee.Field]) -> tuple[list, tuple]:
    given = {field.name for field in fields}
    extra_fields, extra_values = [], []
    for field, default in model._meta.defaults.items():
        if field.name in given:
            continue
        value = default() if callable(default) else default
        extra_fields.append(field)
        extra_values.append(field.db_value(value))
    return extra_fields, tuple(extra_values)


def update_rows(
    model: type[BaseModel],
    set_fields: Sequence[peewee.Field],
    rows: Iterable[Sequence[object]],
) -> None:
    """`UPDATE model SET set_fields... WHERE id = ?` for each row (set values, then the id)."""
    database = model._meta.database
    assignments = ", ".join(
        f"{_quote(database, f.column_name)} = {database.param}" for f in set_fields
    )
    table = _quote(database, model._meta.table_name)
    pk = _quote(database, model._meta.primary_key.column_name)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = {database.param}"
    database.cursor().executemany(sql, rows)
