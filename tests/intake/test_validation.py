"""Intake refuses bad input field by field, and a refused event leaves no trace at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.errors import PermissionDenied, ValidationFailed
from reachable.intake.services import event_submit
from reachable.organisations.models import Role
from reachable.organisations.services import user_create
from reachable.people.models import Person
from tests.borough import Borough, custody_event
from tests.world import AT, row_counts

Mutation = Callable[[dict[str, Any]], object]


def _drop(key: str) -> Mutation:
    return lambda e: e.pop(key)


CASES: list[tuple[str, Mutation, str]] = [
    ("unknown type", lambda e: e.update(type="custody.teleported"), "type"),
    ("missing type", _drop("type"), "type"),
    ("missing occurred_at", _drop("occurred_at"), "occurred_at"),
    ("malformed occurred_at", lambda e: e.update(occurred_at="yesterday"), "occurred_at"),
    ("future occurred_at", lambda e: e.update(occurred_at="2025-03-06T11:00:00+00:00"),
     "occurred_at"),
    ("naive occurred_at", lambda e: e.update(occurred_at="2025-03-06T10:10:00"), "occurred_at"),
    ("missing subject", _drop("subject"), "subject"),
    ("nameless subject", lambda e: e.update(subject={"date_of_birth": "2011-07-19"}), "subject"),
    ("missing record", lambda e: e["source"].pop("record"), "source.record"),
    ("unknown agency", lambda e: e["source"].update(agency="nowhere"), "source.agency"),
    ("invalid NHS number", lambda e: e["subject"].update(nhs_number="9434765918"),
     "subject.nhs_number"),
    ("short NHS number", lambda e: e["subject"].update(nhs_number="943476591"),
     "subject.nhs_number"),
    ("invalid UPN", lambda e: e["subject"].update(upn="A801200100001"), "subject.upn"),
    ("invalid PNC id", lambda e: e["subject"].update(pnc_id="11-123456A"), "subject.pnc_id"),
    ("invalid postcode", lambda e: e["subject"].update(postcode="XX1 1XX"), "subject.postcode"),
    ("invalid address postcode",
     lambda e: e["subject"].update(address={"line": "1 Road", "postcode": "NOPE"}),
     "subject.address.postcode"),
    ("future date of birth", lambda e: e["subject"].update(date_of_birth="2025-03-07"),
     "subject.date_of_birth"),
    ("malformed date of birth", lambda e: e["subject"].update(date_of_birth="19/07/2011"),
     "subject.date_of_birth"),
    ("bad sex", lambda e: e["subject"].update(sex="X"), "subject.sex"),
    ("missing required data field", lambda e: e["data"].pop("force"), "data.force"),
    ("unknown data field", lambda e: e["data"].update(colour="blue"), "data.colour"),
    ("data not an object", lambda e: e.update(data=["force"]), "data"),
    ("related without role choice",
     lambda e: e.update(related=[{"given_name": "A", "family_name": "B", "role": "cousin"}]),
     "related[0].role"),
    ("related with invalid NHS",
     lambda e: e.update(related=[{"given_name": "A", "family_name": "B",
                                  "nhs_number": "1234567890"}]),
     "related[0].nhs_number"),
]


def test_bad_input_is_refused_on_the_field_and_nothing_is_written(
    borough: Borough, subtests: pytest.Subtests
) -> None:
    # One borough for all cases (subtests report each case separately): cheaper on PostgreSQL.
    system = borough.system_for("met-police")
    for name, mutate, field in CASES:
        with subtests.test(name, field=field):
            payload = custody_event()
            mutate(payload)
            before = row_counts()
            with clock.frozen_at(AT), pytest.raises(ValidationFailed) as caught:
                event_submit(actor=system, payload=payload)
            assert field in caught.value.errors, caught.value.errors
            assert all(isinstance(m, str) and m for m in caught.value.errors[field])
            assert row_counts() == before


def test_several_problems_are_reported_together(borough: Borough) -> None:
    payload = custody_event()
    payload["subject"]["nhs_number"] = "9434765918"
    payload["subject"]["postcode"] = "XX1 1XX"
    payload["data"].pop("force")
    with clock.frozen_at(AT), pytest.raises(ValidationFailed) as caught:
        borough.submit(payload)
    assert {"subject.nhs_number", "subject.postcode"} <= set(caught.value.errors)


def test_a_non_object_is_refused(borough: Borough, subtests: pytest.Subtests) -> None:
    for payload in ([], [custody_event()], "custody.booked", 42, None):
        with subtests.test(repr(payload)[:30]):
            before = row_counts()
            with pytest.raises(ValidationFailed) as caught:
                event_submit(actor=borough.system_for("met-police"), payload=payload)
            assert caught.value.errors
            assert row_counts() == before


def test_type_requiring_related_person_is_refused_without_one(borough: Borough) -> None:
    payload = custody_event()
    payload.update(type="relationship.recorded", data={"kind": "peer"})
    with clock.frozen_at(AT), pytest.raises(ValidationFailed) as caught:
        borough.submit(payload)
    assert "related" in caught.value.errors


def test_a_few_minutes_of_clock_drift_is_tolerated(borough: Borough) -> None:
    with clock.frozen_at(AT):
        submission = borough.submit(custody_event(at="2025-03-06T10:17:00+00:00"))
    assert submission.created


def test_occurred_at_with_offset_or_z_is_accepted_and_normalised(borough: Borough) -> None:
    with clock.frozen_at(AT):
        a = borough.submit(custody_event(record="A", at="2025-03-06T10:10:00Z"))
        b = borough.submit(custody_event(record="B", at="2025-03-06T11:10:00+01:00"))
    times = {e.occurred_at for e in Event.objects.filter(pk__in=[a.result["event"],
                                                                 b.result["event"]])}
    assert len(times) == 1


def test_normalised_identifiers_are_stored(borough: Borough) -> None:
    payload = custody_event(nhs="943 476 5919")
    payload["subject"]["postcode"] = "sw1a1aa"
    with clock.frozen_at(AT):
        borough.submit(payload)
    person = Person.objects.get()
    assert person.identifiers.get().value == "9434765919"
    assert person.addresses.get().postcode == "SW1A 1AA"


def test_only_agency_systems_submit(borough: Borough, subtests: pytest.Subtests) -> None:
    for role in Role.values:
        if role == Role.AGENCY_SYSTEM:
            continue
        with subtests.test(role):
            user = borough.users[role]
            assert user.agency is not None
            before = row_counts()
            with clock.frozen_at(AT), pytest.raises(PermissionDenied):
                event_submit(actor=user, payload=custody_event(agency=user.agency.code))
            assert row_counts() == before


def test_an_inactive_system_cannot_submit(borough: Borough) -> None:
    system = user_create(actor=None, username="retired-feed", password=None,
                         role=Role.AGENCY_SYSTEM, agency=borough.agencies["met-police"])
    system.is_active = False
    system.save()
    with clock.frozen_at(AT), pytest.raises(PermissionDenied):
        event_submit(actor=system, payload=custody_event())
