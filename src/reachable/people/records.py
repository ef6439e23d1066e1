"""Row-level helpers that record what an agency told us about a person.

These are the building blocks of identity resolution and run inside the event submission
transaction, whose single audit record lists what they changed. They are not called directly
from views or the API.

Inside ``records_batched()`` (one transaction resolving a batch of events) the same helpers
answer from what the batch has already read or written (``records_prefetch`` reads names,
latest addresses, relationships and identifiers for many people at once) and hold their new
names, addresses and identifiers back until ``records_flush``, which inserts them together
(new people and relationships are held by ``core.held``, whose readers flush them). Every
reader of these rows during a batch goes through these helpers, so each answer is the one
the database would have given had every row been inserted at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection
from django.db.models import ForeignKey

from reachable.core.held import instance_build, row_create, rows_insert
from reachable.core.sql import (
    instances_where_in,
    plain_column,
    plain_select,
    rows_where_in,
    values_where_in,
)
from reachable.people.models import Address, Identifier, Person, PersonName, Relationship
from reachable.people.validators import name_key

IdentifierKey = tuple[str, str, str]  # (kind, issuer, value)
# (recorded_at, order, postcode, line) of a person's latest address; rows written in the batch
# order after every stored row, as their ids will.
_Latest = tuple[datetime, int, str, str]
_AFTER_STORED = 1 << 62


@dataclass
class _Batch:
    names: dict[int, set[str]] = field(default_factory=dict)
    latest: dict[int, _Latest | None] = field(default_factory=dict)
    identifiers: dict[IdentifierKey, Identifier | None] = field(default_factory=dict)
    # (related person, kind) of each person's relationships, stored and new in the batch.
    relationships: dict[int, set[tuple[int, str]]] = field(default_factory=dict)
    new_names: list[PersonName] = field(default_factory=list)
    new_addresses: list[Address] = field(default_factory=list)
    new_identifiers: list[Identifier] = field(default_factory=list)
    written: int = 0

    def names_of(self, person_id: int) -> set[str]:
        if person_id not in self.names:
            records_prefetch([person_id])
        return self.names[person_id]

    def latest_of(self, person_id: int) -> _Latest | None:
        if person_id not in self.latest:
            records_prefetch([person_id])
        return self.latest[person_id]

    def relationships_of(self, person_id: int) -> set[tuple[int, str]]:
        if person_id not in self.relationships:
            records_prefetch([person_id])
        return self.relationships[person_id]


_batch: ContextVar[_Batch | None] = ContextVar("people_records_batch", default=None)


@contextmanager
def records_batched() -> Iterator[None]:
    """Hold new names, addresses and identifiers for ``records_flush`` (same transaction).

    Leaving the block without flushing discards them: the caller's transaction is rolling back.
    """
    token = _batch.set(_Batch())
    try:
        yield
    finally:
        _batch.reset(token)


def records_flush() -> None:
    """Insert what the batch held back (a unique constraint raced by another transaction
    raises ``IntegrityError`` here, and the caller replays the batch event by event)."""
    batch = _batch.get()
    if batch is None:
        return
    rows_insert(PersonName, batch.new_names)
    rows_insert(Address, batch.new_addresses)
    rows_insert(Identifier, batch.new_identifiers)
    batch.new_names, batch.new_addresses, batch.new_identifiers = [], [], []


def records_prefetch(person_ids: Iterable[int]) -> None:
    """Read the names and latest address of many people at once (in a batch; else nothing)."""
    batch = _batch.get()
    if batch is None:
        return
    wanted = [pk for pk in set(person_ids) if pk not in batch.names]
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        for pk in chunk:
            batch.names[pk] = set()
            batch.latest[pk] = None
            batch.relationships[pk] = set()
        for pk, key in rows_where_in(plain_select(PersonName, "person", "name_key"),
                                     plain_column(PersonName, "person"), chunk):
            batch.names[pk].add(key)
        # Only stored rows are read (a plain read flushes nothing held): the batch's new ones
        # are in the sets.
        for pk, related_id, kind in rows_where_in(
                plain_select(Relationship, "person", "related", "kind"),
                plain_column(Relationship, "person"), chunk):
            batch.relationships[pk].add((related_id, kind))
        for pk, at, row_id, postcode, line in values_where_in(
                Address, ("person", "recorded_at", "id", "postcode", "line"), "person", chunk):
            held = batch.latest[pk]
            if held is None or (at, row_id) > held[:2]:
                batch.latest[pk] = (at, row_id, postcode, line)


def identifiers_held(keys: Iterable[IdentifierKey]) -> dict[IdentifierKey, Identifier]:
    """The identifiers someone holds among ``keys`` (kind, issuer, value), with their person.

    One query (per thousand keys). In a batch, each key is read from the database once and
    the batch's own new identifiers are included.
    """
    wanted = set(keys)
    batch = _batch.get()
    unknown = sorted(wanted if batch is None else
                     {k for k in wanted if k not in batch.identifiers})
    found: dict[IdentifierKey, Identifier] = {}
    person_field = Identifier._meta.get_field("person")
    assert isinstance(person_field, ForeignKey)
    for start in range(0, len(unknown), 1000):
        chunk = set(unknown[start:start + 1000])
        # By value among the kinds and issuers asked: all three columns of the unique index,
        # so the planner reads it even from statistics of a table that was empty; then the
        # exact keys.
        rows = [row for row in instances_where_in(
                    Identifier, "value", sorted({value for _, _, value in chunk}),
                    where={"kind": sorted({kind for kind, _, _ in chunk}),
                           "issuer": sorted({issuer for _, issuer, _ in chunk})})
                if (row.kind, row.issuer, row.value) in chunk]
        # Stored identifiers name stored people: nothing held needs flushing to read them.
        people = {person.pk: person for person in instances_where_in(
            Person, "id", [row.person_id for row in rows], flush=False)}
        for row in rows:
            person_field.set_cached_value(row, people[row.person_id])
            found[(row.kind, row.issuer, row.value)] = row
    if batch is None:
        return found
    for key in unknown:
        batch.identifiers[key] = found.get(key)
    return {k: held for k in wanted if (held := batch.identifiers[k]) is not None}


def person_row_create(
    *, given_name: str, family_name: str, date_of_birth: date | None, sex: str, at: datetime,
    source_agency: str,
) -> Person:
    person = row_create(  # held to the batch's end, if in one (``core.held``)
        Person, given_name=given_name, family_name=family_name,
        name_key=name_key(given_name, family_name), date_of_birth=date_of_birth,
        sex=sex or "U", created_at=at,
    )
    # A new person has no names yet: insert, without first looking for one.
    name = instance_build(PersonName, person=person, name_key=person.name_key,
                          given_name=given_name, family_name=family_name,
                          source_agency=source_agency)
    batch = _batch.get()
    if batch is None:
        name.save(force_insert=True)
    else:
        batch.names[person.pk] = {person.name_key}
        batch.latest[person.pk] = None
        batch.relationships[person.pk] = set()
        batch.new_names.append(name)
    return person


def name_row_add(*, person: Person, given_name: str, family_name: str, source_agency: str) -> bool:
    key = name_key(given_name, family_name)
    batch = _batch.get()
    if batch is None:
        _, created = PersonName.objects.get_or_create(
            person=person, name_key=key,
            defaults={"given_name": given_name, "family_name": family_name,
                      "source_agency": source_agency},
        )
        return created
    names = batch.names_of(person.pk)
    if key in names:
        return False
    names.add(key)
    batch.new_names.append(instance_build(PersonName, person=person, name_key=key,
                                          given_name=given_name, family_name=family_name,
                                          source_agency=source_agency))
    return True


def identifier_row_add(*, person: Person, kind: str, value: str, issuer: str = "",
                       checked: bool = False) -> bool:
    """Attach an identifier unless some person already holds it (never steal an identifier).

    ``checked``: the caller looked it up in this transaction and nobody holds it.
    """
    batch = _batch.get()
    if batch is None:
        if not checked and Identifier.objects.filter(kind=kind, issuer=issuer,
                                                     value=value).exists():
            return False
        Identifier.objects.create(person=person, kind=kind, value=value, issuer=issuer)
        return True
    key = (kind, issuer, value)
    if identifiers_held([key]):
        return False
    identifier = instance_build(Identifier, person=person, kind=kind, value=value, issuer=issuer)
    batch.identifiers[key] = identifier
    batch.new_identifiers.append(identifier)
    return True


def address_row_add(
    *, person: Person, postcode: str, line: str, at: datetime, source_agency: str,
    new_person: bool = False,
) -> bool:
    """Record an address unless it is the one already latest (``new_person``: none yet)."""
    batch = _batch.get()
    if batch is None:
        latest = None if new_person else person.addresses.first()
        if latest is not None and latest.postcode == postcode and latest.line == line:
            return False
        Address.objects.create(person=person, postcode=postcode, line=line, recorded_at=at,
                               source_agency=source_agency)
        return True
    held = None if new_person else batch.latest_of(person.pk)
    if held is not None and held[2] == postcode and held[3] == line:
        return False
    batch.written += 1
    entry = (at, _AFTER_STORED + batch.written, postcode, line)
    if held is None or entry[:2] > held[:2]:
        batch.latest[person.pk] = entry
    batch.new_addresses.append(instance_build(Address, person=person, postcode=postcode,
                                              line=line, recorded_at=at,
                                              source_agency=source_agency))
    return True


def relationship_row_add(
    *, person: Person, related: Person, kind: str, at: datetime, source_agency: str
) -> bool:
    """Record the relationship unless it is already held; True when it was new.

    In a batch, the people's relationships were read with their names (``records_prefetch``)
    and the new row is held to the batch's end (``core.held``; a rule reading relationships
    flushes it first). A relationship raced in by another transaction then fails the batch's
    insert on the unique constraint, and intake replays the batch event by event.

    Otherwise one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL, and SQLite
    since 3.35) against the unique constraint, rather than ``get_or_create``'s look-up,
    savepoint, insert and release; the constraint answers "already held" even against a
    concurrent insert.
    """
    batch = _batch.get()
    if batch is not None:
        known = batch.relationships_of(person.pk)
        if (related.pk, kind) in known:
            return False
        known.add((related.pk, kind))
        row_create(Relationship, person=person, related=related, kind=kind, recorded_at=at,
                   source_agency=source_agency)
        return True
    meta = Relationship._meta
    quote = connection.ops.quote_name
    concrete = {f.name: f for f in meta.concrete_fields}
    values = {"person": person.pk, "related": related.pk, "kind": kind, "recorded_at": at,
              "source_agency": source_agency}
    prepared = [concrete[name].get_db_prep_save(value, connection)
                for name, value in values.items()]
    columns = ", ".join(quote(concrete[name].column) for name in values)
    conflict = ", ".join(quote(concrete[name].column) for name in ("person", "related", "kind"))
    sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 (model's names)
           f"VALUES (%s, %s, %s, %s, %s) "
           f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, prepared)
        return cursor.fetchone() is not None
