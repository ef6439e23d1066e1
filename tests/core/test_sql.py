"""Reads by a long list of values (``core.sql``): the rows the ORM's ``__in`` would give."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reachable.childstate.models import ChildFlag, Flag
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.held import row_create, rows_held
from reachable.core.sql import (
    SQLITE_CHUNK,
    array_literal,
    instances_where_in,
    plain_column,
    plain_select,
    rows_probed,
    rows_where_in,
    values_where_in,
)
from reachable.identity.models import BlockingKey, MatchProfile
from reachable.people.models import Person, PersonName
from reachable.rules.models import Clock, ClockStatus
from tests.borough import Borough


def _people(count: int) -> list[Person]:
    now = clock.now()
    people = Person.objects.bulk_create(
        Person(given_name=f"Ada{n}", family_name="Read", name_key=f"ada{n} read", created_at=now)
        for n in range(count))
    PersonName.objects.bulk_create(
        PersonName(person=person, given_name=person.given_name, family_name="Read",
                   name_key=f"{person.name_key} {variant}")
        for person in people for variant in ("a", "b"))
    return people


def test_rows_are_those_the_orm_would_read_across_chunks(db: None) -> None:
    people = _people(2 * SQLITE_CHUNK + 40)
    # More ids than one SQLite statement takes, some asked twice, some matching nothing.
    wanted = [p.pk for p in people[::2]] + [people[0].pk, people[-2].pk, 10**9]
    expected = sorted(PersonName.objects.filter(person_id__in=wanted)
                      .values_list("person_id", "name_key"))
    found = sorted(rows_where_in(plain_select(PersonName, "person", "name_key"),
                                 plain_column(PersonName, "person"), wanted))
    assert found == expected
    assert len(found) == 2 * len({p.pk for p in people[::2]})


def test_postgresql_reads_by_one_array_parameter_and_sqlite_by_chunks(db: None) -> None:
    people = _people(SQLITE_CHUNK + 1)
    with CaptureQueriesContext(connection) as queries:
        rows = list(rows_where_in(plain_select(Person, "id"), plain_column(Person, "id"),
                                  [p.pk for p in people]))
    assert len(rows) == len(people)
    if connection.vendor == "postgresql":
        assert len(queries.captured_queries) == 1
        assert '"id" = ANY(' in queries.captured_queries[0]["sql"]
    else:
        assert len(queries.captured_queries) == 2


def _event(borough: Borough, person: Person, record: str) -> Event:
    now = clock.now()
    return Event.objects.create(person=person, type="custody.booked", occurred_at=now,
                                recorded_at=now, source_agency=borough.agencies["met-police"],
                                source_record=record, subject={}, data={}, payload_hash="0" * 64)


def _columns(rows: list[ChildFlag] | list[Clock]) -> list[tuple[object, ...]]:
    return sorted(tuple(getattr(row, f.attname) for f in row._meta.concrete_fields)
                  for row in rows)


def test_instances_are_those_the_orm_would_build(db: None, borough: Borough) -> None:
    """Dates in two zones, JSON, a null and a condition on it: every field of every instance
    equals what the query set gives, and the instances are stored rows like its own."""
    people = _people(3)
    event = _event(borough, people[0], "S-1")
    summer = datetime(2026, 7, 1, 9, 30, tzinfo=zoneinfo.ZoneInfo("Europe/London"))
    for n, person in enumerate(people):
        for kind, cleared in ((Flag.CP_PLAN, None), (Flag.CIN_PLAN, summer)):
            ChildFlag.objects.create(person=person, flag=kind, key=str(n), set_by=event,
                                     set_at=summer, cleared_at=cleared, cleared_by=None,
                                     value={"level": n, "note": "Zo\u00eb", "list": [1, None]})
    wanted = [people[0].pk, people[2].pk, 10**9]
    expected = list(ChildFlag.objects.filter(person_id__in=wanted, cleared_at__isnull=True))
    found = instances_where_in(ChildFlag, "person", wanted, where={"cleared_at": None})
    assert len(found) == 2 and _columns(found) == _columns(expected)
    assert all(not row._state.adding and row._state.db == "default" for row in found)
    assert found[0].value["list"] == [1, None] and found[0].set_at == summer
    both = instances_where_in(ChildFlag, "person", wanted,
                              where={"flag": [Flag.CP_PLAN, Flag.CIN_PLAN]})
    assert len(both) == 4


def test_values_are_those_values_list_would_give(db: None, borough: Borough) -> None:
    people = _people(2)
    event = _event(borough, people[1], "S-3")
    wanted = [p.pk for p in people]
    fields = ("person", "type", "occurred_at", "data", "source_agency")
    assert values_where_in(Event, fields, "person", wanted) == list(
        Event.objects.filter(person_id__in=wanted).values_list(*fields))
    assert values_where_in(Event, ("occurred_at",), "person", wanted,
                           where={"type": ["custody.booked"]}) == [(event.occurred_at,)]
    assert values_where_in(Event, ("id",), "person", wanted, where={"type": ["other"]}) == []


def test_instances_of_a_held_model_include_the_rows_held(db: None, borough: Borough) -> None:
    [person] = _people(1)
    event = _event(borough, person, "S-2")
    now = clock.now()
    with rows_held():
        held = row_create(Clock, rule_id="golden-hour", person=person, event=event,
                          unit="clock_hours", amount=1, started_at=now, deadline=now,
                          escalate_at=now)
        [found] = instances_where_in(Clock, "person", [person.pk],
                                     where={"status": [ClockStatus.OPEN]})
    assert found.pk == held.pk and found.deadline == now


def test_probed_rows_are_the_rows_where_in(db: None) -> None:
    """One index probe per value on PostgreSQL, the same rows (each once) as the ``IN``."""
    people = _people(30)
    keys = [f"{p.name_key} {variant}" for p in people[::3] for variant in ("a", "b")]
    wanted = [*keys, keys[0], "nobody at all"]
    with CaptureQueriesContext(connection) as queries:
        found = sorted(rows_probed(PersonName, ("name_key", "person"), "name_key", wanted))
    assert found == sorted(rows_where_in(plain_select(PersonName, "name_key", "person"),
                                         plain_column(PersonName, "name_key"), wanted))
    assert len(found) == len(keys) and len(queries.captured_queries) == 1
    if connection.vendor == "postgresql":
        assert "LATERAL" in queries.captured_queries[0]["sql"]
    assert list(rows_probed(PersonName, ("name_key",), "name_key", [])) == []
    # A value longer than the column is no one's, not the row its first characters name.
    max_length = PersonName._meta.get_field("name_key").max_length
    assert max_length is not None
    PersonName.objects.create(person=people[0], given_name="Long", family_name="Key",
                              name_key="k" * max_length)
    assert list(rows_probed(PersonName, ("name_key",), "name_key",
                            ["k" * (max_length + 5)])) == []


def test_a_probe_limit_bounds_each_value_on_postgresql(postgres_only: None) -> None:
    """A value naming many rows gives at most ``limit`` of them; the others give all theirs."""
    people = _people(6)
    for n, person in enumerate(people):
        PersonName.objects.create(person=person, given_name=f"Common {n}", family_name="Name",
                                  name_key="shared key")
    found = list(rows_probed(PersonName, ("name_key", "person"), "name_key",
                             ["shared key", f"{people[0].name_key} a"], limit=4))
    assert sum(1 for key, _ in found if key == "shared key") == 4
    assert (f"{people[0].name_key} a", people[0].pk) in found
    assert len(list(rows_probed(PersonName, ("name_key",), "name_key", ["shared key"]))) == 6


AWKWARD = ["plain", "", "NULL", "null", "with space", "comma,inside", "{braces}", 'quote"d',
           "back\\slash", "trailing\\", "\\\"", "O'Brien", "Zoë Łukasz", "tab\there",
           "new\nline", " lead and trail ", "%s", "%(name)s"]


def test_array_literals_read_back_as_the_values_given(postgres_only: None) -> None:
    """PostgreSQL's array input reads each literal back as exactly the values written."""
    for values in (AWKWARD, [0, -1, 7, 2**62], ["only one"]):
        literal = array_literal(values)
        assert literal is not None
        cast = "bigint" if type(values[0]) is int else "text"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM unnest(%s::{cast}[]) WITH ORDINALITY AS "  # noqa: S608
                           "t(value, n) ORDER BY n", [literal])
            assert [row[0] for row in cursor.fetchall()] == values
    assert array_literal([]) is None
    assert array_literal([1, "mixed"]) is None and array_literal([True, False]) is None


def test_awkward_values_find_their_rows(db: None) -> None:
    """Through ``rows_where_in`` and ``rows_probed``, on either database."""
    people = _people(len(AWKWARD))
    for person, key in zip(people, AWKWARD, strict=True):
        PersonName.objects.create(person=person, given_name="A", family_name="B", name_key=key)
    wanted = [*AWKWARD[::2], "not there"]
    expected = sorted((key, person.pk) for person, key in zip(people, AWKWARD, strict=True)
                      if key in wanted)
    found = sorted(rows_where_in(plain_select(PersonName, "name_key", "person"),
                                 plain_column(PersonName, "name_key"), wanted))
    assert found == expected
    assert sorted(rows_probed(PersonName, ("name_key", "person"), "name_key", wanted)) == expected


def test_no_values_asks_nothing(db: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert list(rows_where_in(plain_select(Person, "id"), plain_column(Person, "id"),
                                  [])) == []
    assert queries.captured_queries == []


@pytest.mark.parametrize(("model", "name"), [
    (Person, "date_of_birth"), (Event, "occurred_at"), (Event, "data"), (MatchProfile, "keys"),
])
def test_fields_the_backend_converts_are_refused(model: type, name: str) -> None:
    with pytest.raises(ValueError, match=r"use the ORM|not a column"):
        plain_select(model, "id", name)


def test_a_foreign_key_reads_its_id_column() -> None:
    assert plain_column(BlockingKey, "profile").endswith('"profile_id"')
    assert plain_select(BlockingKey, "key", "profile") == (
        'SELECT "identity_blockingkey"."key", "identity_blockingkey"."profile_id" '
        'FROM "identity_blockingkey"')
