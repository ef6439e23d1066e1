"""Two records of one child, each rich in rows, built through the real intake door.

"Tomasz Nowak" was booked into custody by the Met (NHS number, golden-hour alert and clock,
MASH and police relationships, a related adult, an address); the school knows him as "Kuba
Wisniewski" with another date of birth (UPN, another address, the same mother, a sibling link to
the custody record) - different enough that the linkage engine keeps them apart, so the
tests decide when they merge. Some of their rows
would collide on a merge (the same alias, the same mother), one refers to the other (the
sibling link): exactly the cases a merge must handle without losing exactness.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction

from reachable.access.services import break_glass_open
from reachable.core import clock
from reachable.mpi.repoint import person_links
from reachable.people.models import Person
from reachable.people.records import name_row_add
from tests.borough import Borough, custody_event

NHS = "9434765919"
UPN = "F801200100001"
DOB = "2011-07-19"
SCHOOL_DOB = "2011-03-02"
MOTHER = {"given_name": "Agata", "family_name": "Nowak", "date_of_birth": "1985-04-02",
          "role": "related"}


@dataclass(frozen=True)
class Pair:
    custody: Person  # Tomasz Nowak, known to the police
    school: Person  # Kuba Wisniewski, known to the school
    mother: Person


def _event(agency: str, record: str, type_: str, subject: dict[str, Any],
           data: dict[str, Any], related: list[dict[str, Any]] | None = None,
           minutes_ago: int = 60) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": type_, "occurred_at": (clock.now() - timedelta(minutes=minutes_ago)).isoformat(),
        "source": {"agency": agency, "record": record}, "subject": subject, "data": data,
    }
    if related is not None:
        payload["related"] = related
    return payload


def two_records_of_one_child(borough: Borough, *, suffix: str = "") -> Pair:
    """Build the pair (call inside ``clock.frozen_at``)."""
    tomasz = {"given_name": "Tomasz", "family_name": "Nowak", "date_of_birth": DOB,
              "nhs_number": NHS}
    tomas = {"given_name": "Kuba", "family_name": "Wisniewski", "date_of_birth": SCHOOL_DOB,
             "upn": UPN}
    at = clock.now() - timedelta(minutes=5)
    custody = borough.submit(custody_event(record=f"CUST-{suffix}1", at=at)).result
    borough.submit(_event("met-police", f"ADDR-{suffix}1", "person.address_changed", tomasz,
                          {"postcode": "N15 3RT", "line": "1 High Road"}))
    borough.submit(_event("education", f"PUPIL-{suffix}1", "person.registered", tomas,
                          {"record_type": "pupil"}))
    borough.submit(_event("education", f"ADDR-{suffix}2", "person.address_changed", tomas,
                          {"postcode": "E17 4PP", "line": "22 Hoe Street"}))
    # The same mother recorded for both: a relationship the survivor will already have.
    borough.submit(_event("csc", f"REL-{suffix}1", "relationship.recorded", tomasz,
                          {"kind": "mother"}, [MOTHER]))
    borough.submit(_event("csc", f"REL-{suffix}2", "relationship.recorded", tomas,
                          {"kind": "mother"}, [MOTHER]))
    # A sibling link between the two records: after a merge it would point at itself.
    borough.submit(_event("csc", f"REL-{suffix}3", "relationship.recorded", tomas,
                          {"kind": "sibling"},
                          [{**{k: v for k, v in tomasz.items()}, "role": "related"}]))
    # Another child's event names the custody record as a co-arrested person.
    borough.submit(_event("met-police", f"CUST-{suffix}2", "custody.booked",
                          {"given_name": "Kacper", "family_name": "Lewandowski",
                           "date_of_birth": "2010-05-05"},
                          {"force": "met", "station": "Tottenham", "offence": "robbery"},
                          [{**tomasz, "role": "co_arrested"}], minutes_ago=30))
    custody_person = Person.objects.get(pk=int(custody["person"].removeprefix("P-")))
    school_person = Person.objects.get(identifiers__value=UPN)
    mother = Person.objects.get(given_name="Agata")
    with transaction.atomic():
        # The school also once spelt the name as the police did: an alias both records have.
        name_row_add(person=school_person, given_name="Tomasz", family_name="Nowak",
                     source_agency="education")
    # A practitioner used emergency access on the custody record.
    break_glass_open(actor=borough.users["social_worker"], person_id=custody_person.pk,
                     reason="Urgent: police asked about a missing episode tonight, need history.")
    assert custody_person.pk != school_person.pk
    return Pair(custody=custody_person, school=school_person, mother=mother)


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table that refers to a person, and the people themselves."""
    models = {link.model for link in person_links()} | {Person}
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in sorted(models, key=lambda m: m._meta.label)
    }


def rows_referring_to(person_id: int) -> dict[str, list[Any]]:
    """(model.field) -> pks of rows whose person reference is ``person_id``."""
    found: dict[str, list[Any]] = {}
    for link in person_links():
        pks = list(link.manager.filter(**{link.field.attname: person_id})
                   .order_by("pk").values_list("pk", flat=True))
        if pks:
            found[f"{link.label}.{link.field.name}"] = pks
    return found
