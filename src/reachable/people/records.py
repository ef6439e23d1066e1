"""Row-level helpers that record what an agency told us about a person.

These are the building blocks of identity resolution and run inside the event submission
transaction, whose single audit record lists what they changed. They are not called directly
from views or the API.
"""

from __future__ import annotations

from datetime import date, datetime

from reachable.people.models import Address, Identifier, Person, PersonName, Relationship
from reachable.people.validators import name_key


def person_row_create(
    *, given_name: str, family_name: str, date_of_birth: date | None, sex: str, at: datetime,
    source_agency: str,
) -> Person:
    person = Person.objects.create(
        given_name=given_name, family_name=family_name,
        name_key=name_key(given_name, family_name), date_of_birth=date_of_birth,
        sex=sex or "U", created_at=at,
    )
    # A new person has no names yet: insert, without first looking for one.
    PersonName.objects.create(person=person, name_key=person.name_key, given_name=given_name,
                              family_name=family_name, source_agency=source_agency)
    return person


def name_row_add(*, person: Person, given_name: str, family_name: str, source_agency: str) -> bool:
    key = name_key(given_name, family_name)
    _, created = PersonName.objects.get_or_create(
        person=person, name_key=key,
        defaults={"given_name": given_name, "family_name": family_name,
                  "source_agency": source_agency},
    )
    return created


def identifier_row_add(*, person: Person, kind: str, value: str, issuer: str = "",
                       checked: bool = False) -> bool:
    """Attach an identifier unless some person already holds it (never steal an identifier).

    ``checked``: the caller looked it up in this transaction and nobody holds it.
    """
    if not checked and Identifier.objects.filter(kind=kind, issuer=issuer, value=value).exists():
        return False
    Identifier.objects.create(person=person, kind=kind, value=value, issuer=issuer)
    return True


def address_row_add(
    *, person: Person, postcode: str, line: str, at: datetime, source_agency: str,
    new_person: bool = False,
) -> bool:
    """Record an address unless it is the one already latest (``new_person``: none yet)."""
    latest = None if new_person else person.addresses.first()
    if latest is not None and latest.postcode == postcode and latest.line == line:
        return False
    Address.objects.create(person=person, postcode=postcode, line=line, recorded_at=at,
                           source_agency=source_agency)
    return True


def relationship_row_add(
    *, person: Person, related: Person, kind: str, at: datetime, source_agency: str
) -> bool:
    _, created = Relationship.objects.get_or_create(
        person=person, related=related, kind=kind,
        defaults={"recorded_at": at, "source_agency": source_agency},
    )
    return created
