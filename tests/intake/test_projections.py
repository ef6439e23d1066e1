"""Events that change the people index: relationships, addresses, deaths."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from reachable.core import clock
from reachable.core.errors import ValidationFailed
from reachable.people.models import Address, Person, Relationship
from tests.borough import Borough

AT = datetime.fromisoformat("2025-03-06T10:15:00+00:00")
CHILD = {"given_name": "Amira", "family_name": "Okafor", "date_of_birth": "2012-02-03"}


def _event(type_: str, record: str, data: dict, related: list | None = None) -> dict:
    payload = {"type": type_, "occurred_at": "2025-03-06T10:00:00+00:00",
               "source": {"agency": "csc", "record": record}, "subject": CHILD, "data": data}
    if related is not None:
        payload["related"] = related
    return payload


def test_relationship_event_records_the_relationship(borough: Borough) -> None:
    adult = {"given_name": "Dean", "family_name": "Hollis", "date_of_birth": "1995-11-20",
             "role": "related"}
    with clock.frozen_at(AT):
        result = borough.submit(_event("relationship.recorded", "r-1",
                                       {"kind": "adult_of_concern"}, [adult])).result
    link = Relationship.objects.get()
    assert link.person.ref == result["person"]
    assert (link.related.given_name, link.kind) == ("Dean", "adult_of_concern")


def test_address_change_adds_a_canonical_postcode_and_bad_postcodes_are_refused(
    borough: Borough,
) -> None:
    with clock.frozen_at(AT):
        borough.submit(_event("person.address_changed", "a-1", {"postcode": "n153rt"}))
        with pytest.raises(ValidationFailed) as refused:
            borough.submit(_event("person.address_changed", "a-2", {"postcode": "NOT A CODE"}))
    assert "data.postcode" in refused.value.errors
    assert list(Address.objects.values_list("postcode", flat=True)) == ["N15 3RT"]


def test_death_is_recorded_on_the_person(borough: Borough) -> None:
    with clock.frozen_at(AT):
        borough.submit(_event("person.died", "d-1", {"date_of_death": "2025-03-05"}))
    assert Person.objects.get().died_on == date(2025, 3, 5)
