"""The fast path for the few bulk writes (import, run creation).

peewee's `insert_many` builds a query object per chunk and is ~15x slower than the driver's
`executemany` for 100k rows (measured, DESIGN.md). These helpers keep the models as the only
description of the schema: table and column names come from the model's metadata. Values must
already be in database form (ids, not model instances; times through `to_db_time`).

On PostgreSQL, `executemany` is one round trip per row; there the rows go in pages of
`PAGE_ROWS` as one multi-row ``VALUES`` statement each (psycopg2's `execute_values`, which
writes the values into the statement text, so PostgreSQL's limit of 65,535 bind parameters
per statement does not apply).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from functools import lru_cache

import peewee

from appupdater.store.models import BaseModel

PAGE_ROWS = 1000  # rows per statement on PostgreSQL


def is_postgres(database: peewee.Database) -> bool:
    """Whether `database` (or the database a proxy is bound to) is PostgreSQL."""
    bound = database.obj if isinstance(database, peewee.DatabaseProxy) else database
    return isinstance(bound, peewee.PostgresqlDatabase)


def _execute_values(
    model: type[BaseModel],
    sql: str,
    rows: Iterable[Sequence[object]],
    template: str | None = None,
) -> None:
    from psycopg2.extras import execute_values  # type: ignore[import-untyped]

    cursor = model._meta.database.cursor()
    execute_values(cursor, sql, rows, template=template, page_size=PAGE_ROWS)


def _quote(database: peewee.Database, name: str) -> str:
    return f"{database.quote[0]}{name}{database.quote[1]}"


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
    sql = insert_sql(model, [*fields, *extra_fields], ignore=ignore)
    if is_postgres(database):
        rows = list(rows)
        if not ignore and _copy(model, [*fields, *extra_fields], rows):
            return
        head, _, tail = sql.partition(" VALUES ")
        _execute_values(model, f"{head} VALUES %s{tail.partition(')')[2]}", rows)
        return
    database.cursor().executemany(sql, rows)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: object) -> str | None:
    """A value in COPY's text format; None for a type it is not written for here."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return None


def _copy(
    model: type[BaseModel], fields: Sequence[peewee.Field], rows: list[Sequence[object]]
) -> bool:
    """Insert `rows` with PostgreSQL's COPY, the fastest way in (a 100k-device run: 2.7 s as
    multi-row VALUES, ~1 s with COPY). False, with nothing sent, when a value is of a type the
    text format is not written for here (then the caller uses VALUES)."""
    if not rows:
        return True
    lines = []
    for row in rows:
        texts = [_copy_text(value) for value in row]
        if None in texts:
            return False
        lines.append("\t".join(texts))  # type: ignore[arg-type]
    database = model._meta.database
    table = _quote(database, model._meta.table_name)
    columns = ", ".join(_quote(database, f.column_name) for f in fields)
    buffer = io.StringIO("\n".join(lines) + "\n")
    database.cursor().copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
    return True


def _defaults(
    model: type[BaseModel], fields: Sequence[peewee.Field]
) -> tuple[list[peewee.Field], tuple[object, ...]]:
    given = {field.name for field in fields}
    extra_fields: list[peewee.Field] = []
    extra_values: list[object] = []
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
    keys: Sequence[peewee.Field] | None = None,
) -> None:
    """`UPDATE model SET set_fields... WHERE keys...` for each row: the set values, then the
    key values (by default the primary key)."""
    database = model._meta.database
    if not keys:
        if not model._meta.primary_key:
            raise TypeError(f"{model.__name__} has no primary key: name the key fields")
        keys = [model._meta.primary_key]
    if is_postgres(database):
        _update_values(model, set_fields, keys, rows)
        return
    assignments = ", ".join(
        f"{_quote(database, f.column_name)} = {database.param}" for f in set_fields
    )
    condition = " AND ".join(f"{_quote(database, k.column_name)} = {database.param}" for k in keys)
    table = _quote(database, model._meta.table_name)
    sql = f"UPDATE {table} SET {assignments} WHERE {condition}"
    database.cursor().executemany(sql, rows)


def _update_values(
    model: type[BaseModel],
    set_fields: Sequence[peewee.Field],
    keys: Sequence[peewee.Field],
    rows: Iterable[Sequence[object]],
) -> None:
    """`update_rows` on PostgreSQL: ``UPDATE … FROM (VALUES …)``, a page of rows per statement.
    Each value is cast to its column's type, which a VALUES list cannot infer from NULLs or
    strings."""
    database = model._meta.database
    table = _quote(database, model._meta.table_name)
    types = _column_types(model)
    names = [f"c{i}" for i in range(len(set_fields) + len(keys))]
    columns = [f.column_name for f in [*set_fields, *keys]]
    template = "(" + ", ".join(f"%s::{types[c]}" for c in columns) + ")"
    assignments = ", ".join(
        f"{_quote(database, f.column_name)} = v.{n}"
        for f, n in zip(set_fields, names, strict=False)
    )
    condition = " AND ".join(
        f"{table}.{_quote(database, k.column_name)} = v.{n}"
        for k, n in zip(keys, names[len(set_fields) :], strict=True)
    )
    values = f"(VALUES %s) AS v ({', '.join(names)})"
    sql = f"UPDATE {table} SET {assignments} FROM {values} WHERE {condition}"
    _execute_values(model, sql, rows, template)


def _column_types(model: type[BaseModel]) -> dict[str, str]:
    """The SQL types of a model's PostgreSQL table's columns, by name (asked once per
    database)."""
    database = model._meta.database
    bound = database.obj if isinstance(database, peewee.DatabaseProxy) else database
    key = (id(bound), model._meta.table_name)
    if key not in _types:
        _types[key] = _ask_column_types(model)
    return _types[key]


_types: dict[tuple[int, str], dict[str, str]] = {}


def _ask_column_types(model: type[BaseModel]) -> dict[str, str]:
    database = model._meta.database
    table = model._meta.table_name
    cursor = database.execute_sql(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (_quote(database, table),),
    )
    return dict(cursor.fetchall())


@lru_cache(maxsize=64)
def _update_sql(
    model: type[BaseModel], set_names: tuple[str, ...], where_names: tuple[str, ...]
) -> str:
    database = model._meta.database
    fields = model._meta.fields

    def column(name: str) -> str:
        return _quote(database, fields[name].column_name)

    assignments = ", ".join(f"{column(n)} = {database.param}" for n in set_names)
    condition = " AND ".join(f"{column(n)} = {database.param}" for n in where_names)
    return f"UPDATE {_quote(database, model._meta.table_name)} SET {assignments} WHERE {condition}"


def update_where(
    model: type[BaseModel], values: dict[str, object], where: dict[str, object]
) -> int:
    """`UPDATE model SET values... WHERE where...` (equalities) for a hot path: the statement
    text is built once per shape, values go through the fields' conversions. Returns the number
    of rows changed."""
    fields = model._meta.fields
    params = [fields[n].db_value(v) for n, v in values.items()]
    params += [fields[n].db_value(v) for n, v in where.items()]
    cursor = model._meta.database.execute_sql(
        _update_sql(model, tuple(values), tuple(where)), params
    )
    changed: int = cursor.rowcount
    return changed
