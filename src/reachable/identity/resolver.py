"""Which person is this? The one function that turns an agency's description of a subject into
a person in the index.

First pass (deterministic): a strong identifier match, else exact name + date of birth, else a
new person. The probabilistic linkage engine replaces the body of ``resolve_subject`` without
changing its contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q

from reachable.people.models import Identifier, IdentifierKind, Person
from reachable.people.records import (
    address_row_add,
    identifier_row_add,
    name_row_add,
    person_row_create,
)
from reachable.people.validators import name_key

STRONG_IDENTIFIERS = (
    (IdentifierKind.NHS, "nhs_number"),
    (IdentifierKind.UPN, "upn"),
    (IdentifierKind.PNC, "pnc_id"),
    (IdentifierKind.LOCAL, "local_child_id"),
)


@dataclass(frozen=True)
class Resolution:
    person: Person
    created: bool
    matched_on: str  # "nhs_number", "upn", ..., "name_and_dob", or "new"


def _issuer(kind: str, agency_code: str) -> str:
    return agency_code if kind == IdentifierKind.LOCAL else ""


def _held_identifiers(subject: dict[str, Any], agency_code: str) -> dict[str, Identifier]:
    """The subject's strong identifiers already in the index, by subject key (one query)."""
    wanted = [(kind, key, subject[key]) for kind, key in STRONG_IDENTIFIERS if subject.get(key)]
    if not wanted:
        return {}
    condition = Q()
    for kind, _, value in wanted:
        condition |= Q(kind=kind, value=value, issuer=_issuer(kind, agency_code))
    found = {(i.kind, i.value): i for i in
             Identifier.objects.filter(condition).select_related("person")}
    return {key: found[(kind, value)] for kind, key, value in wanted if (kind, value) in found}


def _match_identifier(held: dict[str, Identifier]) -> tuple[Person, str] | None:
    for _, key in STRONG_IDENTIFIERS:  # in order of strength
        if key in held:
            return held[key].person, key
    return None


def _match_name_and_dob(key: str, dob: date | None) -> Person | None:
    if not key or dob is None:
        return None
    person = Person.objects.filter(name_key=key, date_of_birth=dob).order_by("id").first()
    if person is not None:
        return person
    # Also a known alias of someone (an earlier agency's spelling).
    return Person.objects.filter(names__name_key=key, date_of_birth=dob).order_by("id").first()


def resolve_subject(*, subject: dict[str, Any], agency_code: str, at: datetime) -> Resolution:
    """Find or create the person; record any new names, identifiers and address on them."""
    given = subject.get("given_name") or ""
    family = subject.get("family_name") or ""
    dob = subject.get("date_of_birth")
    held = _held_identifiers(subject, agency_code)
    hit = _match_identifier(held)
    if hit is not None:
        person, matched_on = hit
        created = False
    else:
        person_by_name = _match_name_and_dob(name_key(given, family), dob)
        if person_by_name is not None:
            person, matched_on, created = person_by_name, "name_and_dob", False
        else:
            person = person_row_create(
                given_name=given, family_name=family, date_of_birth=dob,
                sex=subject.get("sex") or "U", at=at, source_agency=agency_code,
            )
            matched_on, created = "new", True
    _enrich(person, subject, agency_code, at, created, held)
    return Resolution(person=person, created=created, matched_on=matched_on)


def _enrich(person: Person, subject: dict[str, Any], agency_code: str, at: datetime,
            created: bool, held: dict[str, Identifier]) -> None:
    given = subject.get("given_name") or ""
    family = subject.get("family_name") or ""
    if not created and (given or family):
        name_row_add(person=person, given_name=given, family_name=family,
                     source_agency=agency_code)
    changed = []
    if person.date_of_birth is None and subject.get("date_of_birth"):
        person.date_of_birth = subject["date_of_birth"]
        changed.append("date_of_birth")
    if person.sex == "U" and subject.get("sex") in ("M", "F"):
        person.sex = subject["sex"]
        changed.append("sex")
    if changed:
        person.save(update_fields=changed)
    for kind, key in STRONG_IDENTIFIERS:
        # Identifiers someone already holds are never moved (looked up above, same transaction).
        if subject.get(key) and key not in held:
            identifier_row_add(person=person, kind=kind, value=subject[key],
                               issuer=_issuer(kind, agency_code), checked=True)
    address = subject.get("address")
    if address and address.get("postcode"):
        address_row_add(person=person, postcode=address["postcode"],
                        line=address.get("line", ""), at=at, source_agency=agency_code)
