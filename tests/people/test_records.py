"""Row writers of the people index (called by services, inside their transactions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from reachable.core.held import row_written, rows_held
from reachable.people.models import Person, Relationship
from reachable.people.records import (
    person_row_create,
    records_batched,
    records_flush,
    records_prefetch,
    relationship_row_add,
)

pytestmark = pytest.mark.django_db(transaction=True)

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_a_relationship_is_recorded_once_and_says_whether_it_was_new() -> None:
    people = [person_row_create(given_name=n, family_name="Okafor", date_of_birth=None,
                                sex="F", at=AT, source_agency="csc") for n in ("Amara", "Ada")]
    child, mother = people
    assert relationship_row_add(person=child, related=mother, kind="mother", at=AT,
                                source_agency="csc") is True
    later = AT.replace(year=2027)
    assert relationship_row_add(person=child, related=mother, kind="mother", at=later,
                                source_agency="police") is False
    assert relationship_row_add(person=mother, related=child, kind="mother", at=later,
                                source_agency="police") is True  # the other direction
    held = Relationship.objects.get(person=child, related=mother)
    assert (held.kind, held.recorded_at, held.source_agency) == ("mother", AT, "csc")
    assert Relationship.objects.count() == 2


def test_in_a_batch_people_and_relationships_wait_but_every_reader_sees_them() -> None:
    """A batch holds new people and relationships back (``core.held``) and answers "already
    held?" from what it read and wrote, so a relationship stored before the batch, one made
    earlier in it and a new one are told apart without a query, and any read of either table
    inserts what waits first."""
    child, mother, father = (
        person_row_create(given_name=n, family_name="Okafor", date_of_birth=None, sex="U",
                          at=AT, source_agency="csc") for n in ("Amara", "Ada", "Obi"))
    relationship_row_add(person=child, related=mother, kind="mother", at=AT,
                         source_agency="csc")
    with transaction.atomic(), records_batched(), rows_held():
        records_prefetch([child.pk])
        sibling = person_row_create(given_name="Chidi", family_name="Okafor",
                                    date_of_birth=None, sex="M", at=AT, source_agency="csc")
        assert not row_written(sibling)
        assert relationship_row_add(person=child, related=mother, kind="mother", at=AT,
                                    source_agency="police") is False  # stored before
        assert relationship_row_add(person=child, related=father, kind="father", at=AT,
                                    source_agency="police") is True
        assert relationship_row_add(person=child, related=father, kind="father", at=AT,
                                    source_agency="school") is False  # made in this batch
        assert relationship_row_add(person=sibling, related=mother, kind="mother", at=AT,
                                    source_agency="csc") is True
        # Nothing new is in the tables yet, but reading either one inserts what waits.
        assert Relationship.objects.filter(related=mother).count() == 2
        assert row_written(sibling)
        assert Person.objects.filter(given_name="Chidi").exists()
        records_flush()
    assert sorted(Relationship.objects.values_list("person__given_name", "related__given_name",
                                                   "source_agency")) == [
        ("Amara", "Ada", "csc"), ("Amara", "Obi", "police"), ("Chidi", "Ada", "csc")]
