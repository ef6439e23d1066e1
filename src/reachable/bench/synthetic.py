"""Synthetic event stream for benchmarks: a pure function of (seed, index), so it streams.

Nothing here describes a real person. Names come from a pool drawn once from a seeded Faker
``en_GB``; NHS numbers sit in the 999 test range NHS England never issues; UPNs carry the
fictional local-authority code 999. Event ``i`` is built from its own seeded ``random.Random``,
so the stream needs no list of people: person ``k`` is re-derived whenever an event names them,
which is what makes repeats match the same person through identity resolution while memory
stays flat however many events are generated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from faker import Faker

from reachable.people.validators import nhs_check_digit, upn_check_letter

# Agencies the stream submits for: (code, name, kind, police force).
BENCH_AGENCIES: list[tuple[str, str, str, str]] = [
    ("csc", "Benchfield Children's Social Care", "csc", ""),
    ("met-police", "Metropolitan Police Service", "police", "met"),
    ("kent-police", "Kent Police", "police", "kent"),
    ("nhs-trust", "Benchfield University Hospitals NHS Trust", "health", ""),
    ("education", "Benchfield Education Service", "school", ""),
    ("school-benchfield-high", "Benchfield High School", "school", ""),
]
# Teams alerts route to: (code, name, kind, agency code).
BENCH_TEAMS: list[tuple[str, str, str, str]] = [
    ("mash", "Multi-Agency Safeguarding Hub", "mash", "csc"),
    ("sw-north", "Social work team north", "social_work", "csc"),
    ("exploitation", "Exploitation and missing", "exploitation", "csc"),
    ("missing", "Missing children team", "missing", "csc"),
    ("ehe", "Elective home education", "ehe", "csc"),
    ("police-safeguarding", "Police safeguarding", "police", "met-police"),
    ("health-safeguarding", "Health safeguarding", "health", "nhs-trust"),
    ("education-safeguarding", "Education safeguarding", "education", "education"),
]

# Share of events that name someone new rather than someone already seen.
NEW_PERSON_SHARE = 0.35
ADULT_SHARE = 0.12
_NHS_STEP = 7_919  # coprime with 10**6: index -> 6-digit serial is a bijection
_OFFENCES = ("robbery", "possession with intent to supply", "theft", "assault", "burglary")
_STATIONS = ("Northbrook", "Leyton", "Brixton", "Medway")
_ED_REASONS = ("injury", "illness", "assault", "self_harm", "overdose", "other")
_NARRATIVES = (
    "Neighbour reports shouting and a child crying late at night.",
    "School concerned about unexplained bruising and poor attendance.",
    "Police attended a domestic incident; children present in the home.",
)
# Where people live, spread as a real borough is: siblings share a home, about a dozen homes
# share a postcode, postcodes spread over a few districts. (Six postcodes for the whole
# stream, as before, put thousands of people in every postcode and made blocking keys on a
# postcode, and so each batch, slower and slower as the database grew.)
_DISTRICTS = ("E17", "E10", "E11", "E4", "N17", "N18")
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters a UK inward code may use
_STREETS = ("Bench Street", "Forest Road", "Hoe Street", "Lea Bridge Road", "Chingford Mount",
            "Markhouse Road", "High Road", "Church Lane", "Grove Road", "Wood Street")
HOMES_PER_POSTCODE = 12


def home_of(key: int) -> tuple[str, str]:
    """(postcode, address line) of person ``key``'s home: two people a home, twelve homes a
    postcode, the postcode's homes numbered along one street.

    A number and street name one home in its district, as in a real borough: the postcodes
    that share a district and a street continue its numbering. (Numbering every home by its
    place in the whole stream, modulo 97, gave some thirty homes in each district the same
    "5 Bench Street", so a blocking key on the address and district, meant to hold a
    household, held more people the longer the stream ran.)"""
    home = key // 2
    area = home // HOMES_PER_POSTCODE
    letters = _INWARD_LETTERS
    district, rest = _DISTRICTS[area % len(_DISTRICTS)], area // len(_DISTRICTS)
    inward = f"{rest % 10}{letters[rest // 10 % 20]}{letters[rest // 200 % 20]}"
    street = _STREETS[area % len(_STREETS)]
    # (district, street) comes round again every _ROUND areas: that street's next stretch.
    stretch = area // _ROUND
    number = stretch * HOMES_PER_POSTCODE + home % HOMES_PER_POSTCODE + 1
    return f"{district} {inward}", f"{number} {street}"


_ROUND = math.lcm(len(_DISTRICTS), len(_STREETS))


@dataclass(frozen=True)
class SyntheticPerson:
    key: int
    given: str
    family: str
    dob: date
    sex: str
    nhs: str | None
    upn: str | None

    def subject(self, *, nhs: bool = True, upn: bool = False, address: bool = True,
                given: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"given_name": given or self.given, "family_name": self.family,
                               "date_of_birth": self.dob.isoformat(), "sex": self.sex}
        if nhs and self.nhs:
            out["nhs_number"] = self.nhs
        if upn and self.upn:
            out["upn"] = self.upn
        if address:
            postcode, line = home_of(self.key)
            out["address"] = {"line": line, "postcode": postcode}
        return out


def _nhs_for(key: int) -> str | None:
    if key >= 1_000_000:
        return None
    first_nine = f"999{key * _NHS_STEP % 1_000_000:06d}"
    check = nhs_check_digit(first_nine)
    return None if check is None else first_nine + str(check)


def _upn_for(key: int) -> str:
    body = f"999{key % 1_000_000_000:09d}"
    return upn_check_letter(body) + body


class EventStream:
    """Deterministic synthetic events: ``payload(i)`` is the same for the same seed and ``i``."""

    def __init__(self, *, seed: int = 42, today: date, end: datetime,
                 spacing: timedelta = timedelta(seconds=20)) -> None:
        self.seed = seed
        self.today = today
        self.end = end
        self.spacing = spacing
        fake = Faker("en_GB")
        fake.seed_instance(seed)
        self._male = [fake.first_name_male() for _ in range(300)]
        self._female = [fake.first_name_female() for _ in range(300)]
        self._surnames = [fake.last_name() for _ in range(600)]

    def person(self, key: int, *, adult: bool = False) -> SyntheticPerson:
        rng = random.Random(f"{self.seed}:person:{key}:{adult}")
        sex = rng.choice("MF")
        given = rng.choice(self._male if sex == "M" else self._female)
        days = rng.randrange(20 * 365, 50 * 365) if adult else rng.randrange(0, 18 * 365 - 20)
        # Adults and children share no key space: adults are numbered from the far end.
        number = 900_000 + key % 100_000 if adult else key
        return SyntheticPerson(
            key=key, given=given, family=rng.choice(self._surnames),
            dob=self.today - timedelta(days=days), sex=sex,
            nhs=_nhs_for(number) if rng.random() < 0.92 else None,
            upn=None if adult else _upn_for(key),
        )

    def _pick(self, rng: random.Random, index: int) -> int:
        population = max(1, int(index * NEW_PERSON_SHARE) + 1)
        return rng.randrange(population)

    def payload(self, index: int) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:event:{index}")
        at = self.end - self.spacing * (1 + rng.random())
        child = self.person(self._pick(rng, index))
        age = (self.today - child.dob).days // 365
        roll = rng.random()
        record = f"B{index:09d}"
        related: list[dict[str, Any]] = []
        if roll < 0.30 and 10 <= age < 18:
            agency = "met-police" if rng.random() < 0.8 else "kent-police"
            # Custody often has no NHS number: matched on exact name and date of birth.
            subject = child.subject(nhs=rng.random() < 0.5, address=False)
            data: dict[str, Any] = {
                "force": "met" if agency == "met-police" else "kent",
                "station": rng.choice(_STATIONS), "offence": rng.choice(_OFFENCES)}
            etype = "custody.booked"
        elif roll < 0.55:
            agency, etype = "nhs-trust", "ed.attended"
            subject = child.subject()
            data = {"reason": rng.choice(_ED_REASONS), "hospital": "Benchfield Hospital"}
        elif roll < 0.72:
            agency, etype = "csc", "contact.received"
            subject = child.subject()
            data = {"narrative": rng.choice(_NARRATIVES), "referrer_agency": "police",
                    "accepted_as_referral": rng.random() < 0.6}
        elif roll < 0.86 and 4 <= age <= 16:
            agency = "school-benchfield-high" if rng.random() < 0.7 else "education"
            subject = child.subject(nhs=False, upn=True)
            if agency == "education":
                etype, data = "school.missing_education", {"notes": "Not seen for 10 days."}
            else:
                etype, data = "school.excluded", {"kind": "suspension",
                                                  "days": rng.randint(1, 5)}
        elif roll < 0.86 + ADULT_SHARE:
            # A child's record naming a parent: the related adult is resolved too.
            agency, etype = "csc", "relationship.recorded"
            subject = child.subject()
            parent = self.person(child.key, adult=True)
            related = [parent.subject() | {"role": "related"}]
            data = {"kind": "mother" if parent.sex == "F" else "father"}
        else:
            agency, etype = "nhs-trust", "person.registered"
            subject, data = child.subject(), {"record_type": "patient"}
        payload: dict[str, Any] = {
            "type": etype, "occurred_at": at.isoformat(),
            "source": {"agency": agency, "record": record}, "subject": subject, "data": data,
        }
        if related:
            payload["related"] = related
        return payload

    def stream(self, count: int, *, start: int = 0) -> Iterator[dict[str, Any]]:
        for index in range(start, start + count):
            yield self.payload(index)
