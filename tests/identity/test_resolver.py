"""Deterministic identity resolution: one person per human, identifiers never move."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from reachable.core import clock
from reachable.identity.resolver import Resolution, resolve_subject
from reachable.people.models import Identifier, Person
from tests.borough import Borough, custody_event
from tests.world import AT

pytestmark = pytest.mark.django_db

NHS_A = "9434765919"
NHS_B = "4010232137"
UPN_A = "F801200100001"
UPN_B = "R80120010000A"


def resolve(agency: str = "met-police", **subject: Any) -> Resolution:
    return resolve_subject(subject=subject, agency_code=agency, at=AT)


def names_of(person: Person) -> set[tuple[str, str]]:
    return set(person.names.values_list("given_name", "family_name"))


def test_first_sighting_creates_a_person_with_name_identifiers_and_address() -> None:
    first = resolve(given_name="Amira", family_name="Testcase", date_of_birth=date(2012, 5, 1),
                    nhs_number=NHS_A, upn=UPN_A, address={"postcode": "N16 7AB", "line": "1 Rd"})
    assert first.created and first.matched_on == "new"
    person = first.person
    assert (person.given_name, person.family_name, person.date_of_birth) == (
        "Amira", "Testcase", date(2012, 5, 1))
    assert set(person.identifiers.values_list("kind", "value")) == {
        ("nhs_number", NHS_A), ("upn", UPN_A)}
    assert list(person.addresses.values_list("postcode", flat=True)) == ["N16 7AB"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("nhs_number", NHS_A), ("upn", UPN_A), ("pnc_id", "11/123456A")],
)
def test_national_identifier_matches_whatever_the_name_and_agency(key: str, value: str) -> None:
    first = resolve(given_name="Amira", family_name="Testcase", **{key: value})
    again = resolve(agency="nhs-trust", given_name="Someone", family_name="Else",
                    date_of_birth=date(2010, 1, 1), **{key: value})
    assert again.person.pk == first.person.pk
    assert not again.created
    assert again.matched_on == key
    assert Person.objects.count() == 1


def test_different_spelling_with_same_nhs_number_is_same_person_and_records_alias() -> None:
    first = resolve(given_name="Tomasz", family_name="Nowak", date_of_birth=date(2011, 7, 19),
                    nhs_number=NHS_A)
    again = resolve(agency="nhs-trust", given_name="Tomek", family_name="Novak",
                    date_of_birth=date(2011, 7, 19), nhs_number=NHS_A)
    assert again.person.pk == first.person.pk
    assert again.matched_on == "nhs_number"
    assert names_of(first.person) == {("Tomasz", "Nowak"), ("Tomek", "Novak")}
    # The person's primary name is the first one given, not overwritten by later spellings.
    first.person.refresh_from_db()
    assert (first.person.given_name, first.person.family_name) == ("Tomasz", "Nowak")


def test_alias_then_matches_on_name_and_dob_without_identifiers() -> None:
    first = resolve(given_name="Tomasz", family_name="Nowak", date_of_birth=date(2011, 7, 19),
                    nhs_number=NHS_A)
    resolve(given_name="Tomek", family_name="Nowak", date_of_birth=date(2011, 7, 19),
            nhs_number=NHS_A)
    by_alias = resolve(agency="education", given_name="TOMEK", family_name="nowak",
                       date_of_birth=date(2011, 7, 19))
    assert by_alias.person.pk == first.person.pk
    assert by_alias.matched_on == "name_and_dob"


def test_local_child_id_is_scoped_to_the_issuing_agency() -> None:
    police = resolve(agency="met-police", given_name="Amira", family_name="Testcase",
                     local_child_id="L-1")
    same_issuer = resolve(agency="met-police", given_name="Different", family_name="Name",
                          local_child_id="L-1")
    other_issuer = resolve(agency="nhs-trust", given_name="Kofi", family_name="Example",
                           local_child_id="L-1")
    assert same_issuer.person.pk == police.person.pk
    assert same_issuer.matched_on == "local_child_id"
    assert other_issuer.person.pk != police.person.pk
    assert other_issuer.created
    assert set(Identifier.objects.filter(value="L-1").values_list("issuer", "person_id")) == {
        ("met-police", police.person.pk), ("nhs-trust", other_issuer.person.pk)}


def test_exact_name_and_dob_ignores_case_and_accents() -> None:
    first = resolve(given_name="Zoë", family_name="Smith-Jones", date_of_birth=date(2013, 2, 3))
    again = resolve(agency="education", given_name="ZOE", family_name="smith jones",
                    date_of_birth=date(2013, 2, 3))
    assert again.person.pk == first.person.pk
    assert again.matched_on == "name_and_dob"


@pytest.mark.parametrize(
    "second",
    [
        {"given_name": "Zoe", "family_name": "Smith", "date_of_birth": date(2013, 2, 4)},
        {"given_name": "Zoe", "family_name": "Smith"},  # no date of birth: never name-only
        {"given_name": "Zoey", "family_name": "Smith", "date_of_birth": date(2013, 2, 3)},
    ],
)
def test_a_new_person_otherwise(second: dict[str, Any]) -> None:
    first = resolve(given_name="Zoe", family_name="Smith", date_of_birth=date(2013, 2, 3))
    again = resolve(agency="education", **second)
    assert again.created and again.matched_on == "new"
    assert again.person.pk != first.person.pk
    assert Person.objects.count() == 2


def test_identifier_beats_a_name_and_dob_match_for_someone_else() -> None:
    holder = resolve(given_name="Amira", family_name="Testcase", nhs_number=NHS_A)
    namesake = resolve(given_name="Kofi", family_name="Example", date_of_birth=date(2012, 1, 1))
    again = resolve(given_name="Kofi", family_name="Example", date_of_birth=date(2012, 1, 1),
                    nhs_number=NHS_A)
    assert again.person.pk == holder.person.pk != namesake.person.pk


def test_identifiers_are_never_stolen_from_another_person() -> None:
    amira = resolve(given_name="Amira", family_name="Testcase", nhs_number=NHS_A)
    kofi = resolve(given_name="Kofi", family_name="Example", upn=UPN_A)
    # A subject carrying Amira's NHS number and Kofi's UPN: resolved by NHS number to Amira, but
    # the UPN stays with Kofi.
    mixed = resolve(agency="education", given_name="Amira", family_name="Testcase",
                    nhs_number=NHS_A, upn=UPN_A)
    assert mixed.person.pk == amira.person.pk
    assert set(Identifier.objects.filter(value=UPN_A).values_list("person_id", flat=True)) == {
        kofi.person.pk}
    assert not amira.person.identifiers.filter(kind="upn").exists()
    # A new person created with a held identifier does not take it either.
    stranger = resolve(given_name="New", family_name="Person", date_of_birth=date(2014, 1, 1),
                       upn=UPN_B, nhs_number=NHS_B)
    later = resolve(given_name="Another", family_name="Child", upn=UPN_B, pnc_id="11/1A")
    assert later.person.pk == stranger.person.pk
    assert Identifier.objects.filter(value=NHS_B).get().person_id == stranger.person.pk


def test_later_information_fills_gaps_but_does_not_overwrite() -> None:
    first = resolve(given_name="Amira", family_name="Testcase", nhs_number=NHS_A)
    assert first.person.date_of_birth is None
    resolve(given_name="Amira", family_name="Testcase", nhs_number=NHS_A,
            date_of_birth=date(2012, 5, 1), sex="F")
    resolve(given_name="Amira", family_name="Testcase", nhs_number=NHS_A,
            date_of_birth=date(2001, 1, 1), sex="M")
    first.person.refresh_from_db()
    assert first.person.date_of_birth == date(2012, 5, 1)
    assert first.person.sex == "F"


def test_through_intake_the_alias_is_recorded_and_one_person_holds_the_number(
    borough: Borough,
) -> None:
    with clock.frozen_at(AT):
        a = borough.submit(custody_event(record="A"))
        b = borough.submit(custody_event(record="B", given="Tomek", family="Nowakowski"))
    assert a.result["person"] == b.result["person"]
    person = Person.objects.get()
    assert names_of(person) == {("Tomasz", "Nowak"), ("Tomek", "Nowakowski")}
    assert person.identifiers.get().value == "9434765919"
