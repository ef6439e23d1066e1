"""A UK-shaped synthetic multi-agency data set with known truth, for training and benchmarks.

The same children as police, health, schools, housing and children's social care would hold
them: households with siblings and twins at one address; health records usually carrying the
NHS number and other agencies rarely; school records with UPNs; police records with PNC ids
and, sometimes, a false name; and the errors agencies make: typos, nicknames, changed and
part-dropped double-barrelled surnames, day/month swaps, placeholder names and dates, missing
fields and families who moved. Every record carries ``child_id`` (the truth) and ``twin_id``
(the child's twin, if any), which linkage never reads.

Everything is synthetic (Faker ``en_GB`` plus names of our own) and deterministic per seed.
Records stream, so a million of them never sit in memory at once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from faker import Faker
from rapidfuzz.distance import DamerauLevenshtein

from reachable.identity.nicknames import forename_canonical, variants_of
from reachable.people.validators import nhs_check_digit, upn_check_letter

AGENCIES = ("health", "school", "police", "housing", "social-care")
RECORD_COLUMNS = (
    "agency", "record_id", "given_name", "family_name", "date_of_birth", "sex", "nhs_number",
    "upn", "pnc_id", "local_child_id", "postcode", "address_line", "child_id", "twin_id",
)
EXTRA_FORENAMES = {
    "M": ["Jayden", "Mohammed", "Muhammad", "Oliver", "Zachary", "Alexander", "Samuel",
          "Benjamin", "Nathaniel", "Frederick", "Harry", "Kai", "Tyler", "Kacper", "Omar",
          "Ibrahim", "Reuben", "Theo", "Arlo", "Finley"],
    "F": ["Olivia", "Amelia", "Isabella", "Charlotte", "Eleanor", "Abigail", "Aisha",
          "Zara", "Maja", "Amara", "Freya", "Poppy", "Isla", "Nia", "Leah", "Elizabeth",
          "Natasha", "Jessica", "Rebecca", "Millie"],
}
REFERENCE_DAY = date(2025, 6, 1)


@dataclass
class Child:
    child_id: str
    forename: str
    surname: str
    dob: date
    sex: str
    nhs_number: str
    upn: str
    twin_id: str = ""


@dataclass
class Household:
    surname: str
    postcode: str
    address_line: str


class SyntheticPopulation:
    """Deterministic generator of children, households and agency records."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.faker = Faker("en_GB")
        self.faker.seed_instance(seed)
        provider = self.faker.provider("faker.providers.person")
        assert provider is not None
        male = list(provider.first_names_male)
        female = list(provider.first_names_female)
        self.forenames = {"M": sorted(set(male) | set(EXTRA_FORENAMES["M"])),
                          "F": sorted(set(female) | set(EXTRA_FORENAMES["F"]))}
        self.surnames = sorted(set(provider.last_names))
        self._nhs = 400_000_000 + self.rng.randrange(1_000_000)
        self._upn = 801_000_000_000 + self.rng.randrange(1_000_000)
        self._children = 0
        self._records = 0

    # -- identifiers ------------------------------------------------------------------------

    def nhs_number(self) -> str:
        while True:
            self._nhs += 1
            body = f"{self._nhs:09d}"
            check = nhs_check_digit(body)
            if check is not None:
                return f"{body}{check}"

    def upn(self) -> str:
        self._upn += 1
        body = f"{self._upn:012d}"
        return upn_check_letter(body) + body

    # -- people -----------------------------------------------------------------------------

    def household(self) -> Household:
        surname = self.rng.choice(self.surnames)
        if self.rng.random() < 0.05:
            surname = f"{surname}-{self.rng.choice(self.surnames)}"
        return Household(surname=surname, postcode=self.faker.postcode(),
                         address_line=self.faker.street_address().replace("\n", ", "))

    def _forename(self, sex: str, avoid: set[str]) -> str:
        """A forename not already used in the family (nor a variant of one: no parents
        call twins Muhammad and Mohammed, or Philip and Phillip)."""
        while True:
            name = self.rng.choice(self.forenames[sex])
            canon = forename_canonical(name.lower()) or ""
            if canon not in avoid and all(DamerauLevenshtein.distance(canon, used) > 1
                                          for used in avoid):
                return name

    def moved_postcode(self, postcode: str) -> str:
        """Most families move locally: the same district, often the same sector."""
        roll = self.rng.random()
        if roll < 0.3:
            return str(self.faker.postcode())
        outward, inward = postcode.split(" ")
        letters = "".join(self.rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(2))
        digit = inward[0] if roll < 0.6 else str(self.rng.randrange(10))
        return f"{outward} {digit}{letters}"

    def children_of(self, household: Household) -> list[Child]:
        count = self.rng.choices((1, 2, 3, 4), weights=(40, 35, 18, 7))[0]
        day = REFERENCE_DAY - timedelta(days=self.rng.randrange(60, 18 * 365))
        children: list[Child] = []
        used: set[str] = set()
        while len(children) < count:
            twins = self.rng.random() < 0.035
            for _ in range(2 if twins else 1):
                sex = self.rng.choice("MF")
                self._children += 1
                child = Child(f"C{self._children:07d}", self._forename(sex, used),
                              household.surname, day, sex, self.nhs_number(), self.upn())
                used.add(forename_canonical(child.forename.lower()) or "")
                children.append(child)
            if twins:
                children[-1].twin_id, children[-2].twin_id = (children[-2].child_id,
                                                              children[-1].child_id)
            day = day - timedelta(days=self.rng.randrange(300, 1500))
            if day < REFERENCE_DAY - timedelta(days=18 * 365):
                break
        return children

    # -- errors agencies make ---------------------------------------------------------------

    def typo(self, text: str) -> str:
        if len(text) < 3:
            return text
        i = self.rng.randrange(1, len(text) - 1)
        kind = self.rng.randrange(4)
        letter = self.rng.choice("abcdefghijklmnopqrstuvwxyz")
        if kind == 0:
            return text[:i] + letter + text[i + 1:]
        if kind == 1:
            return text[:i] + text[i + 1:]
        if kind == 2:
            return text[:i] + letter + text[i:]
        return text[:i - 1] + text[i] + text[i - 1] + text[i + 1:]

    def forename_as_given(self, child: Child, agency: str) -> str:
        rng = self.rng
        if agency == "health" and child.dob > REFERENCE_DAY - timedelta(days=365) \
                and rng.random() < 0.05:
            return rng.choice(["Baby Boy", "Baby Girl", "Baby"]) if not child.twin_id else \
                rng.choice(["Twin 1", "Twin 2"])
        name = child.forename
        variants = variants_of(name)
        if variants and rng.random() < 0.25:
            name = rng.choice(variants).capitalize()
        elif rng.random() < 0.06:
            name = self.typo(name)
        return name

    def surname_as_given(self, child: Child) -> str:
        rng = self.rng
        name = child.surname
        if "-" in name and rng.random() < 0.4:
            parts = name.split("-")
            return rng.choice([parts[0], parts[1], " ".join(parts)])
        if rng.random() < 0.03:
            return rng.choice(self.surnames)  # changed surname (a step-parent's, say)
        if rng.random() < 0.05:
            return self.typo(name)
        return name

    def dob_as_given(self, child: Child) -> str:
        rng = self.rng
        day = child.dob
        roll = rng.random()
        if roll < 0.02:
            return ""
        if roll < 0.025:
            return "1900-01-01"
        if roll < 0.045 and day.day <= 12 and day.day != day.month:
            return f"{day.year:04d}-{day.day:02d}-{day.month:02d}"
        if roll < 0.065:
            text = day.isoformat()
            for _ in range(5):
                i = rng.choice((2, 3, 5, 6, 8, 9))
                candidate = text[:i] + str(rng.randrange(10)) + text[i + 1:]
                try:
                    typed = date.fromisoformat(candidate)
                except ValueError:
                    continue
                if typed <= REFERENCE_DAY:  # intake refuses a birth in the future
                    return candidate
        return day.isoformat()

    def sex_as_given(self, child: Child) -> str:
        roll = self.rng.random()
        if roll < 0.1:
            return ""
        if roll < 0.11:
            return "F" if child.sex == "M" else "M"  # recorded wrongly
        return child.sex

    def case(self, text: str) -> str:
        roll = self.rng.random()
        if roll < 0.15:
            return text.upper()
        if roll < 0.2:
            return text.lower()
        return text

    # -- records ----------------------------------------------------------------------------

    def record(self, child: Child, agency: str, home: Household, moved: Household | None,
               ) -> dict[str, Any]:
        rng = self.rng
        self._records += 1
        false_name = agency == "police" and rng.random() < 0.05
        if false_name:
            given = self._forename(child.sex, {forename_canonical(child.forename.lower()) or ""}) \
                if rng.random() < 0.7 \
                else child.forename
            family = rng.choice(self.surnames) if rng.random() < 0.6 else child.surname
            if given == child.forename and family == child.surname:
                family = rng.choice(self.surnames)
        else:
            given = self.forename_as_given(child, agency)
            family = self.surname_as_given(child)
        address = moved if moved is not None and rng.random() < 0.6 else home
        postcode = "" if rng.random() < 0.05 else address.postcode
        line = "" if rng.random() < 0.1 else address.address_line
        if line and rng.random() < 0.05:
            line = self.typo(line)
        nhs_rate = {"health": 0.95, "social-care": 0.4, "school": 0.05, "police": 0.02,
                    "housing": 0.03}[agency]
        return {
            "agency": agency,
            "record_id": f"{agency[:3].upper()}-{self._records:08d}",
            "given_name": self.case(given),
            "family_name": self.case(family),
            "date_of_birth": self.dob_as_given(child),
            "sex": self.sex_as_given(child),
            "nhs_number": child.nhs_number if rng.random() < nhs_rate else "",
            "upn": child.upn if agency == "school" and rng.random() < 0.98 else "",
            "pnc_id": (f"{child.dob.year % 100 + 10:02d}/{int(child.child_id[1:]):07d}X"
                       if agency == "police" and rng.random() < 0.7 else ""),
            "local_child_id": (f"LA-{child.child_id[1:]}"
                               if agency == "social-care" and rng.random() < 0.8 else ""),
            "postcode": postcode,
            "address_line": line,
            "child_id": child.child_id,
            "twin_id": child.twin_id,
        }

    def records_of(self, child: Child, home: Household, moved: Household | None
                   ) -> list[dict[str, Any]]:
        rng = self.rng
        age = (REFERENCE_DAY - child.dob).days / 365.25
        plan: list[str] = []
        if rng.random() < 0.9:
            plan.append("health")
            if rng.random() < 0.2:
                plan.append("health")
        if age >= 4 and rng.random() < 0.95:
            plan.append("school")
        if age >= 10 and rng.random() < 0.15:
            plan.extend(["police"] * rng.choice((1, 1, 2, 3)))
        if rng.random() < 0.3:
            plan.append("housing")
        if rng.random() < 0.15:
            plan.append("social-care")
        if not plan:
            plan.append("health")
        return [self.record(child, agency, home, moved) for agency in plan]

    def records(self, count: int) -> Iterator[dict[str, Any]]:
        """Exactly ``count`` records, household by household."""
        produced = 0
        while produced < count:
            home = self.household()
            moved = None
            if self.rng.random() < 0.12:
                moved = Household(home.surname, self.moved_postcode(home.postcode),
                                  self.faker.street_address().replace("\n", ", "))
            for child in self.children_of(home):
                for record in self.records_of(child, home, moved):
                    yield record
                    produced += 1
                    if produced >= count:
                        return


def synthetic_records(count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    return SyntheticPopulation(seed).records(count)


def synthetic_features(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """Feature records (with ``uid``) of ``count`` synthetic records, for training."""
    from reachable.identity.features import features

    return [{**features(r), "uid": r["record_id"]} for r in synthetic_records(count, seed)]
