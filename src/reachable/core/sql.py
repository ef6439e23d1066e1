"""Reads by a long list of values, written once for both databases.

A batch of events asks for the rows matching hundreds or thousands of keys at a time (the
blocking keys of every subject, the profiles they name). Through the ORM, ``filter(key__in=
keys)`` prepares every value, writes a placeholder apiece, and the driver then splits that
statement and adapts each value again: for a thousand keys that costs more than the server
takes to answer. Here the statement is written once with one array parameter on PostgreSQL
(``= ANY(%s)``), and with a placeholder per value, a chunk at a time, on SQLite.

Only for columns whose values need no conversion on the way out (integers and text): rows
come back as the driver gives them, without Django's per-backend converters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection, models

SQLITE_CHUNK = 500  # placeholders per statement on SQLite
# Fields whose stored value is what Python gets back from either driver, unconverted.
_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.AutoField)


def plain_select(model: type[models.Model], *names: str) -> str:
    """``SELECT`` of these fields of ``model`` (by field name; a foreign key gives its id),
    for ``rows_where_in``. Refuses a field whose values the backend would convert (dates,
    JSON, booleans on SQLite): those must be read through the ORM."""
    table = connection.ops.quote_name(model._meta.db_table)
    return f"SELECT {plain_columns(model, *names)} FROM {table}"  # noqa: S608  (metadata)


def plain_columns(model: type[models.Model], *names: str) -> str:
    """The quoted columns of plain fields of ``model``, comma-separated (``plain_column``)."""
    return ", ".join(plain_column(model, name) for name in names)


def plain_column(model: type[models.Model], name: str) -> str:
    """The quoted column of a plain field of ``model`` (see ``plain_select``)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise ValueError(f"{model.__name__}.{name} is not a column")
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if not isinstance(target, _PLAIN):
        raise ValueError(f"{model.__name__}.{name} is converted on reading: use the ORM")
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)}.{quote(field.column)}"


def column_in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column`` in ``values`` as SQL and parameters: one array parameter on PostgreSQL, a
    placeholder per value elsewhere. ``column`` is SQL written by the caller, never input."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def rows_where_in(select: str, column: str, values: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``select`` (a statement without its WHERE) whose ``column`` is one of
    ``values``: one statement on PostgreSQL, one per ``SQLITE_CHUNK`` values on SQLite.
    Each row once, however often its value is given (as ``filter(column__in=values)``)."""
    values = list(dict.fromkeys(values))
    if not values:
        return
    size = len(values) if connection.vendor == "postgresql" else SQLITE_CHUNK
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            where, params = column_in(column, values[start:start + size])
            cursor.execute(f"{select} WHERE {where}", params)
            yield from cursor.fetchall()
