"""Reads by a long list of values, written once for both databases.

A batch of events asks for the rows matching hundreds or thousands of keys at a time (the
blocking keys of every subject, the profiles they name). Through the ORM, ``filter(key__in=
keys)`` prepares every value, writes a placeholder apiece, and the driver then splits that
statement and adapts each value again: for a thousand keys that costs more than the server
takes to answer. Here the statement is written once with one array parameter on PostgreSQL
(``= ANY(%s)``), and with a placeholder per value, a chunk at a time, on SQLite.

``rows_where_in`` is only for columns whose values need no conversion on the way out
(integers and text): rows come back as the driver gives them, without Django's per-backend
converters. ``instances_where_in`` reads whole model instances the same way and converts
each value as the ORM would, for the per-batch reads of each person's rows (live flags,
clocks, case relationships) whose query Django would otherwise build afresh every batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

from reachable.core.held import HeldRowsQuerySet, held_flush, instance_from_values

_M = TypeVar("_M", bound=models.Model)

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


def array_literal(values: Sequence[Any]) -> str | None:
    """PostgreSQL's text form of an array of these integers or strings, else None.

    The driver writes a list parameter element by element in Python, which for the
    thousands of ids and keys of a batch cost more than the statement's answer. Integers and
    strings, nearly every list here, are written as one literal instead: each string quoted,
    its backslashes and double quotes escaped, as PostgreSQL's array input reads them. The
    statement casts it to the array type it means.
    """
    if values and all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    if values and all(type(v) is str for v in values):
        return "{" + ",".join(
            '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"
    return None


def array_param(values: Sequence[Any]) -> tuple[str, Any]:
    """A PostgreSQL array parameter, its placeholder and its value: a literal cast to
    ``bigint[]`` or ``text[]`` where ``array_literal`` writes one, else the list itself."""
    values = list(values)
    literal = array_literal(values)
    if literal is None:
        return "%s", values
    return ("%s::bigint[]" if type(values[0]) is int else "%s::text[]"), literal


def column_in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column`` in ``values`` as SQL and parameters: one array parameter on PostgreSQL, a
    placeholder per value elsewhere. ``column`` is SQL written by the caller, never input."""
    if connection.vendor == "postgresql":
        placeholder, param = array_param(values)
        return f"{column} = ANY({placeholder})", [param]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def rows_where_in(select: str, column: str, values: Sequence[Any], *, also: str = "",
                  also_params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
    """The rows of ``select`` (a statement without its WHERE) whose ``column`` is one of
    ``values`` (and, if given, that meet the condition ``also``, with ``also_params``): one
    statement on PostgreSQL, one per ``SQLITE_CHUNK`` values on SQLite. Each row once,
    however often its value is given (as ``filter(column__in=values)``)."""
    values = list(dict.fromkeys(values))
    if not values:
        return
    size = len(values) if connection.vendor == "postgresql" else SQLITE_CHUNK
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            where, params = column_in(column, values[start:start + size])
            if also:
                where, params = f"{where} AND {also}", [*params, *also_params]
            cursor.execute(f"{select} WHERE {where}", params)
            yield from cursor.fetchall()


def rows_probed(model: type[models.Model], names: Sequence[str], name: str,
                values: Sequence[Any], *, limit: int | None = None
                ) -> Iterator[tuple[Any, ...]]:
    """``rows_where_in(plain_select(model, *names), plain_column(model, name), values)``,
    answered on PostgreSQL by one index probe per value, whatever the planner thinks.

    For the blocking keys of a batch (a thousand or two, each naming a few profiles out of
    hundreds of thousands): given them as ``= ANY``, PostgreSQL estimated each value against
    the column's statistics (4 ms of planning for 2,000 keys) and then, its page costs set
    for disks, chose to read the whole table, which grows with every batch (12 ms at 170,000
    keys, against 3 ms probing the index). Here each value is looked up in a ``LATERAL``
    subquery that ``OFFSET 0`` keeps the planner from flattening into a join.

    ``limit`` caps the rows read for any one value on PostgreSQL (a ``LIMIT`` in the probe,
    which keeps it from being flattened as well), so a value that names a great many rows
    costs a bounded read; which of its rows are read is then the index's choice. SQLite
    reads them all.
    """
    values = list(dict.fromkeys(values))
    if connection.vendor != "postgresql":
        yield from rows_where_in(plain_select(model, *names), plain_column(model, name), values)
        return
    if not values:
        return
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    # Text is probed as text: a cast to the column's varchar(n) would cut a longer value
    # short, and the cut value could name a row the whole one does not.
    element = ("text" if isinstance(field, models.CharField | models.TextField)
               else field.db_type(connection))
    quote = connection.ops.quote_name
    columns = ", ".join(plain_column(model, n) for n in names)
    # Names and types from the model's metadata: nothing here comes from input.
    bound = "OFFSET 0" if limit is None else "LIMIT %s"
    sql = (f"SELECT probed.* FROM unnest(%s::{element}[]) AS probe(value) "  # noqa: S608
           f"CROSS JOIN LATERAL (SELECT {columns} FROM {quote(model._meta.db_table)} "
           f"WHERE {plain_column(model, name)} = probe.value {bound}) AS probed")
    _, array = array_param(values)  # cast to the column's element type above
    with connection.cursor() as cursor:
        cursor.execute(sql, [array] if limit is None else [array, limit])
        yield from cursor.fetchall()


_Converter = Callable[[Any, Any, Any], Any]


def instances_where_in(model: type[_M], name: str, values: Sequence[Any], *,
                       where: Mapping[str, Sequence[Any] | None] | None = None,
                       flush: bool = True) -> list[_M]:
    """The instances of ``model`` whose field ``name`` is one of ``values``, as
    ``model.objects.filter(name__in=values, ...)`` would give them (in no set order).

    ``where`` adds conditions by field name: a sequence of allowed values, or ``None`` for
    ``IS NULL``. Every concrete field is read and passed through the converters Django's
    compiler would apply (the backend's, then the field's own), and instances are made as
    ``from_db`` makes them for a query set (``core.held.instance_from_values``); held rows
    of the model are flushed first, as its query set would, unless ``flush`` is false (the
    caller names stored rows only, such as the people stored identifiers belong to). The
    statement is written from the model's metadata, never from input.
    """
    fields = list(model._meta.concrete_fields)
    alias = connections[DEFAULT_DB_ALIAS].alias
    rows = []
    for values_read in _converted_rows(model, fields, name, values, where, flush=flush):
        row = instance_from_values(model, values_read)  # ``from_db``, without its checks
        row._state.adding = False
        row._state.db = alias
        rows.append(row)
    return rows


def values_where_in(model: type[models.Model], fields: Sequence[str], name: str,
                    values: Sequence[Any], *,
                    where: Mapping[str, Sequence[Any] | None] | None = None
                    ) -> list[tuple[Any, ...]]:
    """``instances_where_in`` as tuples of the named fields (a foreign key gives its id), as
    ``values_list(*fields)`` would give them: converted, any field."""
    meta = model._meta
    chosen = []
    for field_name in fields:
        f = meta.get_field(field_name)
        assert isinstance(f, models.Field)
        chosen.append(f)
    return [tuple(row) for row in _converted_rows(model, chosen, name, values, where,
                                                  flush=True)]


def _converted_rows(model: type[models.Model], fields: Sequence[models.Field[Any, Any]],
                    name: str, values: Sequence[Any],
                    where: Mapping[str, Sequence[Any] | None] | None, *, flush: bool
                    ) -> Iterator[list[Any]]:
    conn = connections[DEFAULT_DB_ALIAS]
    if flush and isinstance(model._default_manager.all(), HeldRowsQuerySet):
        held_flush()
    meta = model._meta
    quote = conn.ops.quote_name
    table = quote(meta.db_table)
    select = (f"SELECT {', '.join(f'{table}.{quote(f.column)}' for f in fields)} "  # noqa: S608
              f"FROM {table}")
    conditions: list[str] = []
    params: list[Any] = []
    for field_name, allowed in (where or {}).items():
        f = meta.get_field(field_name)
        assert isinstance(f, models.Field)
        column = f"{table}.{quote(f.column)}"
        if allowed is None:
            conditions.append(f"{column} IS NULL")
        else:
            conditions.append(f"{column} IN ({', '.join(['%s'] * len(allowed))})")
            params.extend(f.get_db_prep_value(value, conn) for value in allowed)
    converters: list[tuple[int, list[_Converter], Any]] = []
    for index, f in enumerate(fields):
        col = f.get_col(meta.db_table)
        found = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
        if found:
            converters.append((index, found, col))
    for raw in rows_where_in(select, plain_column(model, name), values,
                             also=" AND ".join(conditions), also_params=params):
        row = list(raw)
        for index, found, col in converters:
            value = row[index]
            for convert in found:
                value = convert(value, col, conn)
            row[index] = value
        yield row
