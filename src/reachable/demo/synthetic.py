"""Synthetic people for the demo borough: families of children with valid-looking identifiers.

Nothing here describes a real person. Names and street lines come from Faker ``en_GB``; NHS
numbers are drawn from the range 999 000 0000-999 999 9999, which NHS England reserves for test
data and never issues; UPNs carry the fictional local-authority code 999; postcodes come from a
fixed list of well-formed synthetic postcodes. Everything is drawn from one seeded
``random.Random`` and a seeded Faker, so the same seed gives the same borough.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from faker import Faker

from reachable.people.validators import nhs_check_digit, upn_check_letter

# NHS England's test range: numbers starting 999 are never issued to patients.
NHS_TEST_PREFIX = "999"
# Not a real local-authority number (real ones stop below 950).
UPN_LA_CODE = "999"

_OUTWARD = ("E17", "E10", "E11", "E4", "N17", "N18")
_INWARD = ("2AB", "3BD", "4DE", "5EF", "6GH", "7HJ", "8JL", "9LN", "1NP", "2PQ", "3QR",
           "4RS", "5ST", "6TU", "7UW", "8WX", "9XY", "1YZ")
POSTCODES: tuple[str, ...] = tuple(f"{o} {i}" for o in _OUTWARD for i in _INWARD)

# What a child might tell the police instead of their registered first name.
NICKNAMES: dict[str, str] = {
    "Thomas": "Tom", "William": "Will", "Joshua": "Josh", "Benjamin": "Ben", "Daniel": "Dan",
    "Matthew": "Matt", "Samuel": "Sam", "Jacob": "Jake", "Christopher": "Chris",
    "Alexander": "Alex", "Nicholas": "Nick", "Jonathan": "Jon", "Michael": "Mike",
    "Joseph": "Joe", "Anthony": "Tony", "Robert": "Rob", "Richard": "Rich", "James": "Jim",
    "Charlotte": "Lottie", "Elizabeth": "Beth", "Rebecca": "Becky", "Jessica": "Jess",
    "Katherine": "Kate", "Samantha": "Sam", "Victoria": "Tori", "Margaret": "Maggie",
    "Abigail": "Abi", "Jennifer": "Jen", "Natalie": "Nat", "Alexandra": "Alex",
}


def nickname(given: str) -> str:
    """A plausible variant of ``given`` (a nickname, or a shortened form)."""
    if given in NICKNAMES:
        return NICKNAMES[given]
    if len(given) > 5:
        return given[:4]
    return given + "ie"


def nhs_number(rng: random.Random, used: set[str]) -> str:
    """A fresh NHS number in the test range with a valid modulus-11 check digit."""
    while True:
        first_nine = NHS_TEST_PREFIX + f"{rng.randrange(1_000_000):06d}"
        check = nhs_check_digit(first_nine)
        if check is None:
            continue
        value = first_nine + str(check)
        if value not in used:
            used.add(value)
            return value


def upn(*, establishment: int, entry_year: int, serial: int) -> str:
    """A permanent UPN: check letter + LA code + DfE establishment + year + serial."""
    body = f"{UPN_LA_CODE}{establishment:04d}{entry_year % 100:02d}{serial % 1000:03d}"
    return upn_check_letter(body) + body


@dataclass
class Adult:
    given: str
    family: str
    dob: date
    sex: str
    nhs: str | None


@dataclass
class Child:
    key: int
    given: str
    family: str
    dob: date
    sex: str
    nhs: str | None
    school: str | None = None  # agency code of the child's school
    upn: str | None = None


@dataclass
class Family:
    key: int
    surname: str
    postcode: str
    line: str
    mother: Adult
    father: Adult | None
    children: list[Child] = field(default_factory=list)

    @property
    def address(self) -> dict[str, str]:
        return {"line": self.line, "postcode": self.postcode}


def age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


@dataclass
class SchoolSpec:
    code: str
    name: str
    establishment: int  # DfE establishment number (fictional)


def make_families(
    *, children: int, rng: random.Random, fake: Faker, today: date,
    schools: list[SchoolSpec],
) -> list[Family]:
    """Families until there are ``children`` children (ages 0-17), siblings sharing surname and
    address; most people have NHS numbers, school-age children a school and a UPN."""
    used_nhs: set[str] = set()
    upn_serials: dict[tuple[str, int], int] = {}
    families: list[Family] = []
    made = 0
    while made < children:
        size = min(rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0], children - made)
        surname = fake.last_name()
        kids: list[Child] = []
        for _ in range(size):
            sex = rng.choice("MF")
            given = fake.first_name_male() if sex == "M" else fake.first_name_female()
            dob = today - timedelta(days=rng.randrange(0, 18 * 365 - 20))
            nhs = nhs_number(rng, used_nhs) if rng.random() < 0.93 else None
            kids.append(Child(key=made, given=given, family=surname, dob=dob, sex=sex, nhs=nhs))
            made += 1
        eldest = min(k.dob for k in kids)
        mother = Adult(
            given=fake.first_name_female(),
            family=surname if rng.random() < 0.7 else fake.last_name(),
            dob=eldest - timedelta(days=rng.randrange(19 * 365, 38 * 365)),
            sex="F", nhs=nhs_number(rng, used_nhs) if rng.random() < 0.8 else None,
        )
        father = None
        if rng.random() < 0.55:
            father = Adult(
                given=fake.first_name_male(), family=surname,
                dob=eldest - timedelta(days=rng.randrange(20 * 365, 45 * 365)),
                sex="M", nhs=nhs_number(rng, used_nhs) if rng.random() < 0.8 else None,
            )
        school = rng.choice(schools)
        for kid in kids:
            if 4 <= age_on(kid.dob, today) <= 16:
                kid_school = school if rng.random() < 0.8 else rng.choice(schools)
                entry_year = kid.dob.year + 5
                serial = upn_serials.get((kid_school.code, entry_year), 0) + 1
                upn_serials[(kid_school.code, entry_year)] = serial
                kid.school = kid_school.code
                kid.upn = upn(establishment=kid_school.establishment, entry_year=entry_year,
                              serial=serial)
        families.append(Family(
            key=len(families), surname=surname, postcode=rng.choice(POSTCODES),
            line=fake.street_address().replace("\n", ", "), mother=mother, father=father,
            children=kids,
        ))
    return families


def person_subject(person: Child | Adult, family: Family, *, nhs: bool = True,
                   upn: bool = False, given: str | None = None, address: bool = True,
                   ) -> dict[str, Any]:
    """The person as an agency describes them (only what that agency would hold)."""
    subject: dict[str, Any] = {
        "given_name": given or person.given, "family_name": person.family,
        "date_of_birth": person.dob.isoformat(), "sex": person.sex,
    }
    if nhs and person.nhs:
        subject["nhs_number"] = person.nhs
    if upn and isinstance(person, Child) and person.upn:
        subject["upn"] = person.upn
    if address:
        subject["address"] = family.address
    return subject
