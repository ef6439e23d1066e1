"""Break-glass, liaison scoping of the chronology, sealed fields, and "not found" for both
missing and forbidden."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail

from reachable.access.getters import access_person
from reachable.access.models import BreakGlass, Notification
from reachable.access.policies import PersonPolicy
from reachable.access.services import MIN_BREAK_GLASS_REASON, allocation_create, break_glass_open
from reachable.audit.models import AuditRecord
from reachable.core import clock
from reachable.core.errors import NotFound, PermissionDenied, ValidationFailed
from reachable.people.models import Person
from reachable.records.selectors import REDACTED, people_search, person_record
from tests.borough import Borough, custody_event
from tests.world import AT, row_counts

REASON = "Child found injured at a bus stop at night; need history before the strategy call."
INFORMANT = "Jo Testinformant"


@pytest.fixture
def child(borough: Borough) -> Person:
    """A child in custody: the MASH team (manager: mash_manager) holds the case via the alert."""
    with clock.frozen_at(AT):
        borough.submit(custody_event())
    return Person.objects.get()


@pytest.fixture
def adult(borough: Borough) -> Person:
    """Known only to the police; no team holds a case."""
    with clock.frozen_at(AT):
        borough.submit(custody_event(dob="1990-01-01", nhs=None, given="Adult", family="Person"))
    return Person.objects.get()


# --- break-glass ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "urgent", "x" * (MIN_BREAK_GLASS_REASON - 1),
                                    " " * 30 + "short"])
def test_break_glass_needs_a_real_reason(borough: Borough, child: Person, reason: str) -> None:
    before = row_counts()
    with clock.frozen_at(AT), pytest.raises(ValidationFailed) as caught:
        break_glass_open(actor=borough.users["social_worker"], person_id=child.pk, reason=reason)
    assert "reason" in caught.value.errors
    assert row_counts() == before


@pytest.mark.parametrize("role", ["partnership_manager", "ig_officer", "agency_system"])
def test_roles_without_break_glass_are_refused(borough: Borough, child: Person,
                                               role: str) -> None:
    before = row_counts()
    with clock.frozen_at(AT), pytest.raises(PermissionDenied):
        break_glass_open(actor=borough.users[role], person_id=child.pk, reason=REASON)
    assert row_counts() == before


def test_break_glass_on_a_missing_person_is_not_found(borough: Borough, child: Person) -> None:
    with clock.frozen_at(AT), pytest.raises(NotFound):
        break_glass_open(actor=borough.users["social_worker"], person_id=child.pk + 1000,
                         reason=REASON)
    assert not BreakGlass.objects.exists()


def test_break_glass_is_time_boxed(borough: Borough, child: Person, settings: Any) -> None:
    worker = borough.users["social_worker"]  # a different team: no relationship to this child
    with clock.frozen_at(AT), pytest.raises(NotFound):
        access_person(worker, child.pk)
    opened = AT + timedelta(minutes=5)
    with clock.frozen_at(opened):
        glass = break_glass_open(actor=worker, person_id=child.pk, reason=REASON)
    assert glass.expires_at == opened + timedelta(minutes=settings.REACHABLE_BREAK_GLASS_MINUTES)
    with clock.frozen_at(opened):
        assert access_person(worker, child.pk) == child
        record = person_record(actor=worker, person_id=child.pk)
        assert record.via_break_glass
        assert [p.pk for p in people_search(actor=worker, query="Nowak")] == [child.pk]
    with clock.frozen_at(glass.expires_at - timedelta(seconds=1)):
        assert PersonPolicy.can_view(worker, child.pk)
    with clock.frozen_at(glass.expires_at):
        assert not PersonPolicy.can_view(worker, child.pk)
        with pytest.raises(NotFound):
            access_person(worker, child.pk)
        assert people_search(actor=worker, query="Nowak") == []
    # Not retroactive either: before it was opened, it gave nothing.
    assert not PersonPolicy.can_view(worker, child.pk, at=opened - timedelta(seconds=1))


def test_break_glass_tells_the_owning_team_manager_in_app_and_by_email_after_commit(
    borough: Borough, child: Person,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    worker = borough.users["police_liaison"]
    manager = borough.users["mash_manager"]
    with clock.frozen_at(AT), django_capture_on_commit_callbacks() as callbacks:
        break_glass_open(actor=worker, person_id=child.pk, reason=REASON)
        assert mail.outbox == []  # nothing is emailed before the transaction commits
    [note] = Notification.objects.all()
    assert note.recipient == manager
    assert child.ref in note.subject
    assert REASON in note.body
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [[manager.email]]
    assert child.ref in mail.outbox[0].subject
    record = AuditRecord.objects.get(action="break_glass.opened")
    assert record.actor_id == worker.pk
    assert record.person_id == child.pk
    assert record.detail["reason"] == REASON
    assert record.detail["notified"] == [manager.username]


def test_break_glass_with_an_allocated_team_tells_that_teams_manager(
    borough: Borough, adult: Person,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with clock.frozen_at(AT):
        allocation_create(actor=None, person=adult, worker=borough.users["social_worker"])
    with clock.frozen_at(AT), django_capture_on_commit_callbacks(execute=True):
        break_glass_open(actor=borough.users["iro"], person_id=adult.pk, reason=REASON)
    assert [n.recipient for n in Notification.objects.all()] == [borough.users["team_manager"]]
    assert [m.to for m in mail.outbox] == [[borough.users["team_manager"].email]]


def test_break_glass_with_no_owning_team_tells_information_governance(
    borough: Borough, adult: Person,
) -> None:
    with clock.frozen_at(AT):
        break_glass_open(actor=borough.users["social_worker"], person_id=adult.pk, reason=REASON)
    assert [n.recipient for n in Notification.objects.all()] == [borough.users["ig_officer"]]


# --- missing and forbidden look the same -----------------------------------------------------


def test_missing_and_forbidden_are_the_same_not_found(borough: Borough, child: Person) -> None:
    outsider = borough.users["education_liaison"]
    with clock.frozen_at(AT):
        with pytest.raises(NotFound) as forbidden:
            access_person(outsider, child.pk)
        with pytest.raises(NotFound) as missing:
            access_person(outsider, child.pk + 1000)
        with pytest.raises(NotFound) as nothing:
            access_person(outsider, None)
        with pytest.raises(NotFound) as via_selector:
            person_record(actor=outsider, person_id=child.pk)
    assert type(forbidden.value) is type(missing.value) is type(nothing.value)
    assert str(forbidden.value) == str(missing.value) == str(via_selector.value)


# --- liaison scoping of the chronology -------------------------------------------------------


@pytest.fixture
def multi_agency_child(borough: Borough, child: Person) -> Person:
    """The custody child, with entries from health, education and children's social care."""
    base: dict[str, Any] = {
        "occurred_at": "2025-03-05T09:00:00+00:00",
        "subject": {"given_name": "Tomasz", "family_name": "Nowak", "date_of_birth": "2011-07-19",
                    "nhs_number": "9434765919"},
    }
    events = [
        ("nhs-trust", "ED-1", "ed.attended", {"reason": "injury", "hospital": "Northbrook"}),
        ("nhs-trust", "HC-1", "contact.received",
         {"narrative": "Nurse concerned about bruising.", "informant_name": INFORMANT}),
        ("education", "EX-1", "school.excluded", {"kind": "suspension", "days": 3}),
        ("csc", "CR-1", "contact.received",
         {"narrative": "Neighbour worried.", "informant_name": INFORMANT}),
        ("csc", "AS-1", "assessment.started", {}),
    ]
    with clock.frozen_at(AT):
        for agency, record, kind, data in events:
            borough.submit({**base, "type": kind, "source": {"agency": agency, "record": record},
                            "data": data})
    assert Person.objects.count() == 1
    return child


def chronology(actor_record: Any) -> set[tuple[str, str]]:
    return {(e.event.source_agency.code, e.event.type) for e in actor_record.chronology}


def test_health_liaison_sees_own_agency_and_health_shared_types(
    borough: Borough, multi_agency_child: Person,
) -> None:
    with clock.frozen_at(AT):
        record = person_record(actor=borough.users["health_liaison"],
                               person_id=multi_agency_child.pk)
    assert chronology(record) == {("nhs-trust", "ed.attended"), ("nhs-trust", "contact.received")}
    assert record.hidden_entries == 4  # custody, exclusion, CSC contact, assessment
    [contact] = [e for e in record.chronology if e.event.type == "contact.received"]
    assert contact.data["informant_name"] == REDACTED
    assert contact.data["narrative"] == "Nurse concerned about bruising."
    assert AuditRecord.objects.filter(action="person.viewed").last().detail[  # type: ignore[union-attr]
        "entries_withheld"] == 4


def test_police_liaison_sees_custody_but_not_health_or_school(
    borough: Borough, multi_agency_child: Person,
) -> None:
    with clock.frozen_at(AT):
        record = person_record(actor=borough.users["police_liaison"],
                               person_id=multi_agency_child.pk)
    assert chronology(record) == {("met-police", "custody.booked")}
    assert record.hidden_entries == 5


def test_education_liaison_sees_school_entries_only(
    borough: Borough, multi_agency_child: Person,
) -> None:
    with clock.frozen_at(AT):
        record = person_record(actor=borough.users["education_liaison"],
                               person_id=multi_agency_child.pk)
    assert chronology(record) == {("education", "school.excluded")}


def test_mash_sees_the_whole_chronology_with_sealed_fields(
    borough: Borough, multi_agency_child: Person,
) -> None:
    with clock.frozen_at(AT):
        record = person_record(actor=borough.users["mash_practitioner"],
                               person_id=multi_agency_child.pk)
    assert len(record.chronology) == 6
    assert record.hidden_entries == 0
    informants = {e.data.get("informant_name") for e in record.chronology
                  if e.event.type == "contact.received"}
    assert informants == {INFORMANT}


def test_housing_liaison_without_a_supplied_event_cannot_open(
    borough: Borough, multi_agency_child: Person,
) -> None:
    with clock.frozen_at(AT), pytest.raises(NotFound):
        person_record(actor=borough.users["housing_liaison"], person_id=multi_agency_child.pk)


def test_allocation_gives_the_worker_and_their_team_access(borough: Borough,
                                                           adult: Person) -> None:
    worker = borough.users["social_worker"]
    with clock.frozen_at(AT):
        assert not PersonPolicy.can_view(worker, adult.pk)
        allocation_create(actor=borough.users["team_manager"], person=adult, worker=worker)
        assert PersonPolicy.can_view(worker, adult.pk)
        assert PersonPolicy.can_view(borough.users["team_manager"], adult.pk)
        assert not PersonPolicy.can_view(borough.users["mash_practitioner"], adult.pk)
        record = person_record(actor=worker, person_id=adult.pk)
    assert not record.via_break_glass
    assert {g.reason for g in record.relationships} == {"allocated_worker", "team_case"}
