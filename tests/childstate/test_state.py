"""Derived state: flags set and cleared by events, each traceable to its event, and the
'known child' definition of rules.md."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reachable.childstate.models import ChildFlag, Flag
from reachable.childstate.state import child_state
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.people.models import Person
from tests.borough import Borough

T0 = datetime.fromisoformat("2025-03-03T09:00:00+00:00")
CHILD = {"given_name": "Ellie", "family_name": "Statecase", "date_of_birth": "2011-05-05",
         "nhs_number": "9434765919"}


def send(borough: Borough, n: int, kind: str, data: dict[str, Any], *, agency: str = "csc",
         days: float = 0, subject: dict[str, Any] | None = None,
         related: list[dict[str, Any]] | None = None) -> Event:
    at = T0 + timedelta(days=days)
    payload: dict[str, Any] = {"type": kind, "occurred_at": at.isoformat(),
                               "source": {"agency": agency, "record": f"S-{n}"},
                               "subject": subject or CHILD, "data": data}
    if related:
        payload["related"] = related
    with clock.frozen_at(at + timedelta(minutes=1)):
        result = borough.submit(payload).result
    return Event.objects.get(pk=result["event"])


def test_looked_after_flag_follows_legal_status_and_ends(borough: Borough) -> None:
    started = send(borough, 1, "cla.started", {"legal_status": "s20"})
    person = started.person
    state = child_state(person, at=T0 + timedelta(days=1))
    assert state.looked_after and state.legal_status == "s20" and state.known_child
    [flag] = state.current(Flag.LOOKED_AFTER)
    assert flag.set_by == started
    changed = send(borough, 2, "cla.legal_status_changed", {"legal_status": "s31"}, days=10)
    assert child_state(person, at=T0 + timedelta(days=11)).legal_status == "s31"
    old = ChildFlag.objects.get(pk=flag.pk)
    assert old.cleared_by == changed  # history kept: which event ended the s20 period
    send(borough, 3, "cla.ended", {"reason": "returned home"}, days=40)
    state = child_state(person, at=T0 + timedelta(days=41))
    assert not state.looked_after and not state.known_child


def test_known_child_by_exploitation_level_and_missing_history(borough: Borough) -> None:
    first = send(borough, 1, "exploitation_screening.completed", {"level": "emerging"})
    person = first.person
    assert not child_state(person, at=T0).known_child  # emerging is below moderate
    send(borough, 2, "exploitation_screening.completed", {"level": "moderate"}, days=1)
    assert child_state(person, at=T0 + timedelta(days=1)).exploitation_level == "moderate"
    assert child_state(person, at=T0 + timedelta(days=1)).known_child
    send(borough, 3, "exploitation_screening.completed", {"level": "none"}, days=2)
    assert not child_state(person, at=T0 + timedelta(days=2)).known_child
    send(borough, 4, "missing.reported", {"episode_id": "m1"}, agency="met-police", days=3)
    assert child_state(person, at=T0 + timedelta(days=4)).known_child
    # A year and more after that episode, it no longer makes the child known.
    assert not child_state(person, at=T0 + timedelta(days=370)).known_child


def test_an_adult_is_never_a_known_child(borough: Borough) -> None:
    adult = dict(CHILD, date_of_birth="1990-01-01", nhs_number="9000000009")
    event = send(borough, 1, "cla.started", {"legal_status": "s20"}, subject=adult)
    assert not child_state(event.person, at=T0).known_child


def test_bail_no_contact_flags_both_people_and_ends_by_reference(borough: Borough) -> None:
    adult = {"given_name": "Gary", "family_name": "Bailcase", "date_of_birth": "1985-02-02"}
    send(borough, 1, "person.registered", {}, days=0)
    child = Person.objects.get()
    send(borough, 2, "bail.condition_set",
         {"conditions": "No contact with the child", "no_contact": True, "reference": "B1"},
         agency="met-police", subject=adult, days=1,
         related=[{"role": "protected_child", **CHILD}])
    bailed = Person.objects.exclude(pk=child.pk).get()
    [protected] = child_state(child, at=T0 + timedelta(days=2)).current(Flag.BAIL_PROTECTED_FROM)
    assert protected.value["adult"] == bailed.pk
    assert child_state(bailed, at=T0 + timedelta(days=2)).has(Flag.BAILED_NO_CONTACT)
    send(borough, 3, "bail.condition_ended", {"reference": "B1"}, agency="met-police",
         subject=adult, days=5)
    assert not child_state(child, at=T0 + timedelta(days=6)).has(Flag.BAIL_PROTECTED_FROM)
    assert not child_state(bailed, at=T0 + timedelta(days=6)).has(Flag.BAILED_NO_CONTACT)


def test_state_changes_are_in_the_event_audit_record(borough: Borough) -> None:
    from reachable.audit.models import AuditRecord

    event = send(borough, 1, "cp_plan.started", {"category": "neglect"})
    record = AuditRecord.objects.get(action="event.accepted", object_id=str(event.pk))
    assert "+cp_plan" in record.detail["changed"]
