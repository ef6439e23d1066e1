"""Row writers of the people index (called by services, inside their transactions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reachable.people.models import Relationship
from reachable.people.records import person_row_create, relationship_row_add

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
