from __future__ import annotations

from datetime import datetime

import pytest

from reachable.audit.models import AuditRecord
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.errors import PermissionDenied, ValidationFailed
from reachable.identity.models import LinkDecision
from reachable.intake.services import DuplicateConflict, event_submit
from reachable.people.models import Person
from reachable.rules.models import Alert, Clock
from tests.borough import Borough, custody_event

AT = datetime.fromisoformat("2025-03-06T10:15:00+00:00")


def test_custody_of_a_child_raises_golden_hour_alert_and_clock_in_one_submission(
    borough: Borough,
) -> None:
    with clock.frozen_at(AT):
        submission = borough.submit(custody_event())
    assert submission.created
    result = submission.result
    assert result["person_created"] is True
    assert [a["rule"] for a in result["alerts"]] == ["golden-hour"]
    alert = Alert.objects.get()
    assert alert.team == borough.teams["mash"]
    clk = Clock.objects.get()
    assert clk.alert == alert
    assert (clk.deadline - clk.started_at).total_seconds() == 3600
    assert (clk.escalate_at - clk.started_at).total_seconds() == 2700
    event = Event.objects.get()
    assert event.person.ref == result["person"]
    assert AuditRecord.objects.filter(action="event.accepted", object_id=str(event.pk)).exists()


def test_each_resolved_subject_names_its_event_on_the_link_decision(borough: Borough) -> None:
    payload = custody_event(record="CUST-77")
    payload["related"] = [{"role": "related", "given_name": "Marek", "family_name": "Nowak",
                           "date_of_birth": "1980-02-03"}]
    with clock.frozen_at(AT):
        result = borough.submit(payload).result
    decisions = dict(LinkDecision.objects.values_list("source", "person__id"))
    event = Event.objects.get()
    assert decisions["event:met-police:CUST-77"] == event.person_id
    related = Person.objects.get(given_name="Marek")
    assert decisions["event:met-police:CUST-77:related:1"] == related.pk
    assert result["person"] == event.person.ref


def test_resubmission_returns_original_result_and_writes_nothing(borough: Borough) -> None:
    with clock.frozen_at(AT):
        first = borough.submit(custody_event())
        audit_count = AuditRecord.objects.count()
        again = borough.submit(custody_event())
    assert again.created is False
    assert again.result == first.result
    assert Event.objects.count() == 1
    assert Alert.objects.count() == 1
    assert AuditRecord.objects.count() == audit_count


def test_same_record_id_with_different_content_is_a_conflict(borough: Borough) -> None:
    with clock.frozen_at(AT):
        borough.submit(custody_event())
        changed = custody_event()
        changed["data"]["offence"] = "burglary"
        with pytest.raises(DuplicateConflict):
            borough.submit(changed)


def test_adult_in_custody_raises_no_alert(borough: Borough) -> None:
    with clock.frozen_at(AT):
        result = borough.submit(custody_event(dob="1990-01-01", nhs=None)).result
    assert result["alerts"] == []
    assert not Clock.objects.exists()


def test_misspelt_name_with_same_nhs_number_is_the_same_child(borough: Borough) -> None:
    with clock.frozen_at(AT):
        first = borough.submit(custody_event(record="A"))
        second = borough.submit(custody_event(record="B", given="Tomek"))
    assert second.result["person"] == first.result["person"]
    assert second.result["matched_on"] == "nhs_number"
    assert Person.objects.count() == 1
    assert set(Person.objects.get().names.values_list("given_name", flat=True)) == {
        "Tomasz", "Tomek"}


def test_exact_name_and_dob_match_without_identifiers(borough: Borough) -> None:
    with clock.frozen_at(AT):
        first = borough.submit(custody_event(record="A", nhs=None))
        second = borough.submit(custody_event(record="B", nhs=None, given="TOMASZ"))
    assert second.result["person"] == first.result["person"]
    assert second.result["matched_on"] == "name_and_dob"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.update(type="custody.unknown"), "type"),
        (lambda e: e["subject"].update(nhs_number="9434765918"), "subject.nhs_number"),
        (lambda e: e["subject"].update(postcode="XX1 1XX"), "subject.postcode"),
        (lambda e: e.update(occurred_at="2031-01-01T00:00:00+00:00"), "occurred_at"),
        (lambda e: e.update(occurred_at="2025-03-06T10:10:00"), "occurred_at"),
        (lambda e: e["subject"].update(date_of_birth="2030-01-01"), "subject.date_of_birth"),
        (lambda e: e["data"].pop("force"), "data.force"),
        (lambda e: e["data"].update(colour="blue"), "data.colour"),
        (lambda e: e.pop("source"), "source"),
        (lambda e: e["source"].update(agency="nobody"), "source.agency"),
        (lambda e: e.update(subject={}), "subject"),
    ],
)
def test_bad_input_is_refused_per_field_and_writes_nothing(
    borough: Borough, mutate, field: str
) -> None:
    payload = custody_event()
    mutate(payload)
    before = AuditRecord.objects.count()
    with clock.frozen_at(AT), pytest.raises(ValidationFailed) as caught:
        event_submit(actor=borough.systems["met-police"], payload=payload)
    assert field in caught.value.errors
    assert not Event.objects.exists()
    assert not Person.objects.exists()
    assert AuditRecord.objects.count() == before


def test_an_agency_cannot_submit_for_another(borough: Borough) -> None:
    borough.system_for("notts-police")
    payload = custody_event(agency="notts-police")
    with clock.frozen_at(AT), pytest.raises(PermissionDenied):
        event_submit(actor=borough.systems["met-police"], payload=payload)


def test_practitioners_cannot_submit_through_the_system_door(borough: Borough) -> None:
    with clock.frozen_at(AT), pytest.raises(PermissionDenied):
        event_submit(actor=borough.users["social_worker"], payload=custody_event(agency="csc"))
