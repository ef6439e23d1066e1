"""Rows a batch creates now and inserts together later: ids first, one INSERT per table after.

A batch of intake events raises hundreds of alerts and clocks. Inserting each as it is made
costs a round trip and Django's per-row save machinery, most of the price of the catalogue.
Inside ``rows_held()`` a service makes such a row with ``row_create``: the row gets its final
primary key at once, reserved from the table's own sequence (so results and audit records can
name it, and other rows can point at it), and waits in memory. Everything held is inserted,
one stream per table (``rows_insert``), when the block ends, or earlier, the moment anything might
read or change such a table: the models whose rows may be held use ``HeldRowsQuerySet``,
which flushes before every query it runs. So no reader can miss a held row, whichever code
asks. Foreign keys are checked at commit (Django declares them ``DEFERRABLE INITIALLY
DEFERRED`` on PostgreSQL and SQLite), so a held row may point at another held row, and rows
written at once may point at held ones.

Changes to rows already stored (a clock met, an alert settled by a later event) are held the
same way: ``row_change`` queues a conditional UPDATE that names the row by its key, and the
flush writes the queued ones in one ``executemany`` per statement shape. A change that must
happen but finds its row no longer as expected (another transaction got there first) raises
``ChangeLost`` at the flush, and intake replays the batch one event at a time.

Reserved ids that are never used leave gaps, as a rolled-back insert does; nothing depends on
ids being dense. A failed block discards what it held: the transaction it lived in rolls back.
Queries that reach a held table only through a join from another model (``Person.objects
.filter(alerts__…)``) do not flush; within a batch, nothing does that.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

_M = TypeVar("_M", bound=models.Model)
RESERVE_BLOCK = 128  # ids taken from a sequence when a block runs out
MIN_RESERVE = 16  # the least a block reserves for a model up front


@dataclass(frozen=True)
class _Change:
    """One conditional UPDATE of one stored row, held until the next flush."""

    sql: str
    params: list[Any]
    row: tuple[str, Any]  # (table, primary key)
    must_change: bool
    key_column: str  # the primary key's column, for locking the row (``_rows_lock``)


@dataclass
class _Held:
    rows: dict[type[models.Model], list[models.Model]] = field(default_factory=dict)
    # Reserved ids not yet used, highest first (``pop`` hands out the lowest).
    spare_ids: dict[type[models.Model], list[int]] = field(default_factory=dict)
    used: dict[type[models.Model], int] = field(default_factory=dict)
    changes: list[_Change] = field(default_factory=list)


class ChangeLost(Exception):
    """A held conditional change found its row no longer as expected when it was written:
    another transaction changed the row first, so what the batch answered does not stand
    (intake rolls the batch back and replays it one event at a time)."""


_held: ContextVar[_Held | None] = ContextVar("held_rows", default=None)


@contextmanager
def rows_held() -> Iterator[None]:
    """Within the block, ``row_create`` holds rows back; they are inserted by its end."""
    held = _Held()
    token = _held.set(held)
    try:
        yield
        held_flush()
        for model, used in held.used.items():
            _recent_use.setdefault(model, deque(maxlen=USE_WINDOW)).append(used)
    finally:
        _held.reset(token)


# How many rows of each model the last few blocks that made any held (this process): a
# block's first reservation takes ids for all of them at once, as many as the most of those
# blocks used and a quarter more (successive batches come from different agencies, and
# differ). A batch of events makes events, alerts, clocks, people and more, and a round trip
# apiece was three or four a batch. Only a hint: a model that runs out reserves more, and ids
# reserved and never used are gaps, nothing more.
USE_WINDOW = 8
_recent_use: dict[type[models.Model], deque[int]] = {}


def _ids_for(held: _Held, model: type[models.Model]) -> list[int]:
    """The block's spare ids of ``model``, reserving more (and, on the block's first
    reservation, ids for every model held before) when there are none left."""
    spare = held.spare_ids.get(model)
    if spare:
        return spare
    if held.spare_ids:  # this block has reserved before: only this model ran out
        wanted = {model: RESERVE_BLOCK}
    else:
        wanted = {other: max(MIN_RESERVE, max(used) * 5 // 4)
                  for other, used in _recent_use.items()}
        wanted.setdefault(model, RESERVE_BLOCK)
    for other, ids in ids_reserve_many(wanted).items():
        held.spare_ids[other] = ids[::-1]
    return held.spare_ids[model]


def row_create(model: type[_M], **fields: Any) -> _M:
    """``model.objects.create(**fields)``, held back inside ``rows_held`` (with its id set)."""
    held = _held.get()
    if held is None:
        return model._default_manager.create(**fields)
    row = instance_build(model, **fields)
    row.pk = _ids_for(held, model).pop()
    held.used[model] = held.used.get(model, 0) + 1
    held.rows.setdefault(model, []).append(row)
    return row


def instance_build(model: type[_M], **fields: Any) -> _M:
    """``model(**fields)``, built the way Django builds rows it reads: values in field order.

    A batch builds thousands of rows that name their person, event and team as objects.
    Given by keyword, each such object goes through its relation's descriptor (a type check,
    a database router's say on the relation), which cost more than the rest of the row. Here
    the object's key is stored and the object cached on the row, as the descriptor would do
    (``alert.person`` needs no query), after the same type check; fields not given take their
    defaults. Models with one-to-one fields (whose descriptors also set the other side) take
    the keyword path.
    """
    plan = _build_plan(model)
    if plan is None:
        return model(**fields)
    args: list[Any] = []
    related: list[tuple[Any, models.Model | None]] = []
    used = 0
    for f, name, attname, relation in plan:
        if relation is not None and name in fields:
            obj = fields[name]
            if obj is not None and not isinstance(obj, relation):
                raise ValueError(f"{model.__name__}.{name} must be a {relation.__name__}, "
                                 f"not {type(obj).__name__}")
            args.append(None if obj is None else getattr(obj, f.target_field.attname))
            related.append((f, obj))
            used += 1
        elif attname in fields:
            args.append(fields[attname])
            used += 1
        else:
            args.append(f.get_default())
    if used != len(fields):  # a key that is no field, or a relation given both ways
        taken = {name if relation is not None and name in fields else attname
                 for _, name, attname, relation in plan}
        raise TypeError(f"{model.__name__}() got unexpected fields {sorted(set(fields) - taken)}")
    row = instance_from_values(model, args)
    for f, obj in related:
        f.set_cached_value(row, obj)
    return row


def instance_from_values(model: type[_M], values: Sequence[Any]) -> _M:
    """``model(*values)`` (every concrete field's value, in field order), made without the
    constructor's per-field ``setattr``: for a model whose fields are plain attributes
    (Django's deferred-attribute descriptors, which keep the value in the instance's
    ``__dict__``) and with nobody listening for ``pre_init`` or ``post_init``, that is all
    the constructor does, at a fifth of the cost. Anything else takes the constructor.
    ``from_db`` callers set ``_state`` themselves, as Django's does."""
    if pre_init.receivers or post_init.receivers or not _plain_attributes(model):
        return model(*values)
    row = model.__new__(model)
    row._state = ModelState()
    row.__dict__.update(zip(_attnames(model), values, strict=True))
    return row


@cache
def _attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


@cache
def _plain_attributes(model: type[models.Model]) -> bool:
    return all(type(getattr(model, f.attname, None)) in (DeferredAttribute,
                                                        ForeignKeyDeferredAttribute)
               for f in model._meta.concrete_fields)


_Plan = list[tuple[Any, str, str, type[models.Model] | None]]  # (field, name, attname, FK model)
_plans: dict[type[models.Model], _Plan | None] = {}


def _build_plan(model: type[models.Model]) -> _Plan | None:
    """(field, name, attname, related model for a foreign key) per concrete field, in order."""
    if model not in _plans:
        fields = model._meta.concrete_fields
        if any(f.one_to_one for f in fields):
            _plans[model] = None
        else:
            _plans[model] = [
                (f, f.name, f.attname,
                 f.remote_field.model if f.many_to_one and f.remote_field else None)
                for f in fields]
    return _plans[model]


def row_written(row: models.Model) -> bool:
    """Whether the row is in the database (a held row is not, until a flush)."""
    return not row._state.adding


def held_flush() -> int:
    """Insert every held row now (one INSERT per table), then make the held changes; returns
    how many rows were inserted."""
    held = _held.get()
    if held is None or not (held.changes or any(held.rows.values())):
        return 0
    # Taken first: the writes must not flush again.
    pending, held.rows = held.rows, {}
    changes, held.changes = held.changes, []
    written = 0
    for model, rows in pending.items():
        rows_insert(model, rows)
        written += len(rows)
    _changes_write(changes)
    return written


def row_change(model: type[models.Model], pk: Any, values: dict[str, Any], *,
               where: dict[str, tuple[Any, ...]], must_change: bool = True) -> bool:
    """``UPDATE`` one stored row of ``model`` to ``values`` if its fields are still one of
    ``where``'s values (a clock still open, an alert not yet acknowledged), so that a change
    another transaction made first stands. Returns whether the row changed.

    Inside ``rows_held`` the change waits for the next flush, with the batch's other changes
    of the same shape in one ``executemany``, and ``True`` is answered at once; the flush
    raises ``ChangeLost`` if a ``must_change`` row turns out no longer as expected. A batch
    met a few hundred clocks per thousand events, a round trip and an ORM update apiece.
    Values are prepared as ``QuerySet.update`` prepares them.
    """
    quote = connection.ops.quote_name
    meta = model._meta
    assignments, params = [], []
    for name, value in values.items():
        f = meta.get_field(name)
        assert isinstance(f, models.Field)
        assignments.append(f"{quote(f.column)} = %s")
        params.append(f.get_db_prep_save(value, connection))
    conditions = [f"{quote(meta.pk.column)} = %s"]
    params.append(meta.pk.get_db_prep_save(pk, connection))
    for name, allowed in where.items():
        f = meta.get_field(name)
        assert isinstance(f, models.Field)
        conditions.append(f"{quote(f.column)} IN ({', '.join(['%s'] * len(allowed))})")
        params.extend(f.get_db_prep_save(value, connection) for value in allowed)
    sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608
           f"WHERE {' AND '.join(conditions)}")  # (names from the model's metadata)
    held = _held.get()
    if held is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return bool(cursor.rowcount)
    held.changes.append(_Change(sql, params, (meta.db_table, pk), must_change, meta.pk.column))
    return True


def _changes_write(changes: list[_Change]) -> None:
    """The held changes, one ``executemany`` per statement shape. Changes to different rows
    commute, so they are grouped; should one row have been changed twice, they are written
    one by one in order. Each statement names one row by its key, so a group of changes
    that must all apply has changed as many rows as it has changes.

    Grouped changes are written table by table in name order, and each statement's rows in
    key order: the order in which other writers lock the same rows (an acknowledgement
    changes its alert, then its clocks; the sweep locks clocks by id). Written in the batch's
    own order (a clock met, then its alert settled), a batch could hold a clock an
    acknowledgement was about to meet while waiting for the alert that acknowledgement held:
    a deadlock. Changes written one by one keep the batch's order, so their rows are locked
    first, in that same order (``_rows_lock``).
    """
    if len({change.row for change in changes}) == len(changes):
        groups: dict[tuple[str, bool], list[_Change]] = {}
        for change in sorted(changes, key=lambda change: change.row):
            groups.setdefault((change.sql, change.must_change), []).append(change)
        runs = sorted(groups.values(), key=lambda run: run[0].row[0])
    else:
        _rows_lock(changes)
        runs = [[change] for change in changes]
    with connection.cursor() as cursor:
        for run in runs:
            cursor.executemany(run[0].sql, [change.params for change in run])
            if run[0].must_change and cursor.rowcount != len(run):
                raise ChangeLost(f"{len(run) - cursor.rowcount} of {len(run)} changes to "
                                 f"{run[0].row[0]} found their row already changed")


def _rows_lock(changes: list[_Change]) -> None:
    """Lock the rows ``changes`` name, table by table in name order and each table's rows in
    key order, before they are changed in another order. (PostgreSQL only: SQLite has one
    writer at a time.) A row another transaction has deleted is simply not locked; its
    change then finds no row, as it would have anyway."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    by_table: dict[tuple[str, str], set[Any]] = {}
    for change in changes:
        by_table.setdefault((change.row[0], change.key_column), set()).add(change.row[1])
    with connection.cursor() as cursor:
        for (table, column), keys in sorted(by_table.items()):
            cursor.execute(f"SELECT 1 FROM {quote(table)} WHERE {quote(column)} = ANY(%s) "  # noqa: S608
                           f"ORDER BY {quote(column)} FOR UPDATE",  # names from model metadata
                           [sorted(keys)])


def rows_insert(model: type[_M], rows: list[_M]) -> None:
    """Insert model instances as they stand, in one stream: ``bulk_create`` without the ORM's
    SQL building.

    A batch writes thousands of rows per table, and building one multi-row INSERT with a
    placeholder per value, then having the driver split and adapt it, costs more than the
    write. Values are prepared as ``bulk_create`` prepares them (``pre_save`` then
    ``get_db_prep_save``; plain values of plain fields, which those calls return unchanged,
    are passed through without them), so what is stored is the same. PostgreSQL takes them
    by ``COPY``, SQLite by ``executemany`` of one prepared statement. Either every row carries
    its primary key (held rows, reserved ids) or none does (the table's sequence numbers them,
    and the instances do not learn their ids: use ``ids_reserve`` first when they must).
    """
    if not rows:
        return
    with_pk = rows[0].pk is not None
    if any((row.pk is not None) != with_pk for row in rows):
        raise ValueError(f"{model.__name__}: rows with and without ids in one insert")
    conn = connections[DEFAULT_DB_ALIAS]
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    plan = [(f, f.attname, *_fast_path(f, conn)) for f in fields]

    def prepared(row: _M) -> tuple[Any, ...]:
        values = row.__dict__
        out = []
        for f, attname, kinds, adapt in plan:
            if kinds:
                value = values.get(attname, _MISSING)
                if value is None or type(value) in kinds:
                    out.append(value if adapt is None or value is None else adapt(value))
                    continue
            out.append(f.get_db_prep_save(f.pre_save(row, True), conn))
        return tuple(out)

    prepared_rows_write(model._meta.db_table, [f.column for f in fields],
                        [prepared(row) for row in rows])
    for row in rows:
        row._state.adding = False
        row._state.db = conn.alias


def values_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """``rows_insert`` for rows given as ``{attname: value}``, no model instance apiece: for
    rows nobody reads back in the transaction (link decisions, thousands a batch). The table's
    sequence numbers them. A field left out takes its default; values are prepared as
    ``rows_insert`` prepares them, so what is stored is the same. Fields that compute their
    value on save (``auto_now``) are refused: there is no instance to compute it from.
    """
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            raise ValueError(f"{model.__name__}.{f.name} is set on save: use rows_insert")
    conn = connections[DEFAULT_DB_ALIAS]
    plan = [(f, f.attname, *_fast_path(f, conn)) for f in fields]
    attnames = {f.attname for f in fields}

    def prepared(values: dict[str, Any]) -> tuple[Any, ...]:
        if not values.keys() <= attnames:
            raise ValueError(f"{model.__name__}: no such field {sorted(values.keys() - attnames)}")
        out = []
        for f, attname, kinds, adapt in plan:
            # A field left out takes its default, as a model instance would.
            value = values[attname] if attname in values else f.get_default()
            if value is None or type(value) in kinds:
                out.append(value if adapt is None or value is None else adapt(value))
            else:
                out.append(f.get_db_prep_save(value, conn))
        return tuple(out)

    prepared_rows_write(model._meta.db_table, [f.column for f in fields],
                        [prepared(row) for row in rows])


_MISSING = object()
# Field classes whose ``pre_save`` is the attribute and whose ``get_db_prep_save`` returns a
# value of these exact types unchanged, on every backend: such values skip the two calls,
# which were a tenth of intake's time. Anything else (a str given to an integer column, a
# subclass of a field) takes the full path.
_PASS_THROUGH: dict[type[models.Field[Any, Any]], tuple[type, ...]] = {
    models.CharField: (str,), models.TextField: (str,),
    models.IntegerField: (int,), models.BigIntegerField: (int,),
    models.SmallIntegerField: (int,), models.PositiveIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,), models.PositiveBigIntegerField: (int,),
    models.AutoField: (int,), models.BigAutoField: (int,),
    models.BooleanField: (bool,), models.FloatField: (float,),
}
_JSON_TYPES = (dict, list, str, int, float, bool)

_Adapt = Callable[[Any], Any]


def _fast_path(field: models.Field[Any, Any], conn: BaseDatabaseWrapper
               ) -> tuple[tuple[type, ...], _Adapt | None]:
    """The value types ``field`` can prepare without its ``pre_save`` and ``get_db_prep_save``,
    and the backend's adapter those calls would end in (``None``: the value as it is).

    Dates, datetimes and JSON took the full path, and a fifth of a batch's flush went on it
    (``DateTimeField.get_prep_value``'s checks, the connection looked up through Django's
    proxy for every value): for a plain ``date``, an aware ``datetime`` or plain JSON those
    calls come down to the backend's adapter, called here directly. A naive datetime still
    takes the full path (Django warns and makes it aware), as does every field that sets
    its own value on save (``auto_now``).
    """
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return (), None
    kind = type(field)
    if isinstance(field, models.ForeignKey) and kind is models.ForeignKey:
        return _PASS_THROUGH.get(type(field.target_field), ()), None
    if kind in _PASS_THROUGH:
        return _PASS_THROUGH[kind], None
    ops = conn.ops
    if kind is models.DateTimeField and settings.USE_TZ:
        def aware(value: datetime) -> Any:
            if value.utcoffset() is None:
                return field.get_db_prep_save(value, conn)
            return ops.adapt_datetimefield_value(value)
        return (datetime,), aware
    if kind is models.DateField:
        return (date,), ops.adapt_datefield_value
    if isinstance(field, models.JSONField) and kind is models.JSONField:
        encoder = field.encoder
        return _JSON_TYPES, lambda value: ops.adapt_json_value(value, encoder)
    return (), None


def prepared_rows_write(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Write rows whose values the backend has already prepared: PostgreSQL by ``COPY``,
    SQLite by ``executemany`` of one prepared statement (``rows_insert``, the audit buffer).

    The raw driver's COPY bypasses Django's error translation: ``wrap_database_errors``
    restores it, so a unique row raced by another transaction is an ``IntegrityError`` here
    as it would be from ``bulk_create`` (intake replays the batch event by event).
    """
    quote = connection.ops.quote_name
    quoted_table = quote(table)
    quoted_columns = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quoted_table} ({quoted_columns}) FROM STDIN") as copy:
                for values in rows:
                    copy.write_row(values)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {quoted_table} ({quoted_columns}) VALUES ({marks})",  # noqa: S608
                rows)


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """``count`` primary keys of ``model``'s table that no other insert will ever use."""
    return ids_reserve_many({model: count})[model]


def ids_reserve_many(counts: dict[type[models.Model], int]) -> dict[type[models.Model], list[int]]:
    """For each model, that many primary keys of its table that no other insert will ever
    use, ascending; in one round trip on PostgreSQL.

    PostgreSQL: values drawn from the column's sequence. SQLite: Django's auto fields are
    ``AUTOINCREMENT``, whose counter (``sqlite_sequence``) is advanced by the count; SQLite
    has one writer at a time and our transactions start IMMEDIATE, so nobody else can insert
    between the reservation and the commit.
    """
    reserved: dict[type[models.Model], list[int]] = {model: [] for model in counts}
    counts = {model: count for model, count in counts.items() if count > 0}
    if not counts:
        return reserved
    by_table = {model._meta.db_table: model for model in counts}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Each table's sequence is looked up once (the materialised CTE): called per
            # id, pg_get_serial_sequence was four fifths of the statement's time.
            cursor.execute(
                "WITH seqs AS MATERIALIZED ("
                "SELECT tbl, pg_get_serial_sequence(tbl, col)::regclass AS seq, n "
                "FROM unnest(%s::text[], %s::text[], %s::int[]) AS r(tbl, col, n)) "
                "SELECT seqs.tbl, nextval(seqs.seq) FROM seqs, generate_series(1, seqs.n)",
                [list(by_table), [m._meta.pk.column for m in by_table.values()],
                 [counts[m] for m in by_table.values()]])
            for table, pk in cursor.fetchall():
                reserved[by_table[table]].append(pk)
            for ids in reserved.values():
                ids.sort()
            return reserved
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"no id reservation for {connection.vendor}")
        for model, count in counts.items():
            reserved[model] = _sqlite_ids_reserve(cursor, model, count)
    return reserved


def _sqlite_ids_reserve(cursor: Any, model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    # Names from the model's own metadata, quoted: nothing here comes from input.
    quoted_table = connection.ops.quote_name(table)
    quoted_column = connection.ops.quote_name(model._meta.pk.column)
    cursor.execute(f"SELECT COALESCE(MAX({quoted_column}), 0) FROM {quoted_table}")  # noqa: S608
    highest = cursor.fetchone()[0]
    cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
    found = cursor.fetchone()
    start = max(highest, found[0] if found else 0)
    if found:
        cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s",
                       [start + count, table])
    else:
        cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                       [table, start + count])
    return list(range(start + 1, start + count + 1))


class HeldRowsQuerySet(models.QuerySet[_M]):
    """The query set of a model whose rows may be held: every query flushes them first."""

    def _flush(self) -> None:
        held_flush()

    def _fetch_all(self) -> None:
        self._flush()
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Iterator[_M]:
        self._flush()
        return super().iterator(chunk_size=chunk_size)

    def exists(self) -> bool:
        self._flush()
        return super().exists()

    def count(self) -> int:
        self._flush()
        return super().count()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._flush()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._flush()
        return super().update(**kwargs)

    def _update(self, values: Any) -> Any:
        self._flush()
        return super()._update(values)  # type: ignore[misc]  # private, not in the stubs

    def delete(self) -> tuple[int, dict[str, int]]:
        self._flush()
        return super().delete()
