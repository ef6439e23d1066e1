"""A small, real borough for tests: agencies, teams, one user per role, an agency API token.

Built through the same services as production (no mocks), so tests exercise real rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reachable.intake.services import Submission, event_submit
from reachable.organisations.models import Agency, Role, Team, User
from reachable.organisations.services import (
    agency_create,
    agency_token_create,
    team_create,
    user_create,
)
from reachable.people.models import Person, parse_person_ref

PASSWORD = "correct-horse-battery-staple"

# role -> (agency code, team code or None, manages team)
ROLE_HOMES: dict[str, tuple[str, str | None, bool]] = {
    Role.MASH_PRACTITIONER: ("csc", "mash", False),
    Role.MASH_MANAGER: ("csc", "mash", True),
    Role.SOCIAL_WORKER: ("csc", "sw-north", False),
    Role.TEAM_MANAGER: ("csc", "sw-north", True),
    Role.IRO: ("csc", "iro", False),
    Role.EXPLOITATION_COORDINATOR: ("csc", "exploitation", False),
    Role.POLICE_LIAISON: ("met-police", "police-safeguarding", False),
    Role.HEALTH_LIAISON: ("nhs-trust", "health-safeguarding", False),
    Role.EDUCATION_LIAISON: ("education", "education-safeguarding", False),
    Role.HOUSING_LIAISON: ("housing", "housing-liaison", False),
    Role.PARTNERSHIP_MANAGER: ("partnership", "partnership", False),
    Role.IG_OFFICER: ("csc", "ig", False),
    Role.AGENCY_SYSTEM: ("met-police", None, False),
}


@dataclass
class Borough:
    agencies: dict[str, Agency] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    systems: dict[str, User] = field(default_factory=dict)

    def system_for(self, agency_code: str) -> User:
        if agency_code not in self.systems:
            agency = self.agencies[agency_code]
            user = user_create(actor=None, username=f"{agency_code}-system", password=None,
                               role=Role.AGENCY_SYSTEM, agency=agency)
            self.systems[agency_code] = user
            self.tokens[agency_code] = agency_token_create(actor=None, user=user,
                                                           name=f"{agency_code} feed")
        return self.systems[agency_code]

    def submit(self, payload: dict[str, Any]) -> Submission:
        return event_submit(actor=self.system_for(payload["source"]["agency"]), payload=payload)


def build_borough() -> Borough:
    b = Borough()
    for code, name, kind, force in [
        ("csc", "Northbrook Children's Services", "csc", ""),
        ("met-police", "Metropolitan Police", "police", "met"),
        ("notts-police", "Nottinghamshire Police", "police", "nottinghamshire"),
        ("nhs-trust", "Northbrook NHS Trust", "health", ""),
        ("education", "Northbrook Education", "school", ""),
        ("housing", "Northbrook Housing", "housing", ""),
        ("partnership", "Northbrook Safeguarding Partnership", "partnership", ""),
    ]:
        b.agencies[code] = agency_create(actor=None, code=code, name=name, kind=kind,
                                         police_force=force)
    for code, name, kind, agency in [
        ("mash", "MASH", "mash", "csc"),
        ("sw-north", "Social work north", "social_work", "csc"),
        ("iro", "IRO service", "iro", "csc"),
        ("exploitation", "Exploitation team", "exploitation", "csc"),
        ("police-safeguarding", "Police safeguarding", "police", "met-police"),
        ("health-safeguarding", "Health safeguarding", "health", "nhs-trust"),
        ("education-safeguarding", "Education safeguarding", "education", "education"),
        ("housing-liaison", "Housing liaison", "housing_liaison", "housing"),
        ("partnership", "Partnership unit", "partnership", "partnership"),
        ("ig", "Information governance", "information_governance", "csc"),
    ]:
        b.teams[code] = team_create(actor=None, code=code, name=name, kind=kind,
                                    agency=b.agencies[agency])
    for role, (agency, team, manages) in ROLE_HOMES.items():
        if role == Role.AGENCY_SYSTEM:
            continue
        b.users[role] = user_create(
            actor=None, username=role.replace("_", "-"), password=PASSWORD, role=role,
            agency=b.agencies[agency], team=b.teams[team] if team else None,
            manages_team=manages, first_name=role.split("_")[0].title(), last_name="Tester",
            email=f"{role}@example.org",
        )
    b.users[Role.AGENCY_SYSTEM] = b.system_for("met-police")
    return b


def custody_event(*, record: str = "CUST-1", at: datetime | str = "2025-03-06T10:10:00+00:00",
                  given: str = "Tomasz", family: str = "Nowak", dob: str = "2011-07-19",
                  nhs: str | None = "9434765919", agency: str = "met-police",
                  force: str = "met") -> dict[str, Any]:
    subject: dict[str, Any] = {"given_name": given, "family_name": family, "date_of_birth": dob}
    if nhs:
        subject["nhs_number"] = nhs
    return {
        "type": "custody.booked",
        "occurred_at": at if isinstance(at, str) else at.isoformat(),
        "source": {"agency": agency, "record": record},
        "subject": subject,
        "data": {"force": force, "station": "Brixton", "offence": "robbery"},
    }


SECOND_NHS = "4010232137"  # valid, and not the one ``custody_event`` gives


def one_child_recorded_twice(b: Borough, *, given: str = "Tomasz") -> tuple[Person, Person]:
    """The same child as two records (``custody_event``'s, then ``given`` with a second valid
    NHS number, which keeps them apart: two valid NHS numbers are never linked on their own)."""
    kept = b.submit(custody_event(record="A-1"))
    extra = b.submit(custody_event(record="B-1", given=given, nhs=SECOND_NHS))
    first, second = (Person.objects.get(pk=parse_person_ref(s.result["person"]))
                     for s in (kept, extra))
    assert first != second
    return first, second
