"""Reads by a long list of values (``core.sql``): the rows the ORM's ``__in`` would give."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.sql import SQLITE_CHUNK, plain_column, plain_select, rows_where_in
from reachable.identity.models import BlockingKey, MatchProfile
from reachable.people.models import Person, PersonName


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
