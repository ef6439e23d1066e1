"""The demo borough's organisations: agencies, teams, professionals and agency systems.

Everything is created through the organisations services (audited), exactly as an
administrator would. The borough, Northbrook, is fictional.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.hashers import identify_hasher
from django.db import transaction
from faker import Faker

from reachable.audit.services import audit_append
from reachable.demo.synthetic import SchoolSpec
from reachable.organisations.models import Agency, AgencyKind, Role, Team, TeamKind, User
from reachable.organisations.services import (
    agency_create,
    agency_token_create,
    team_create,
    user_create,
)

# Synthetic demo boroughs only; printed by `reachable demo` for every demo login.
DEMO_PASSWORD = "reachable-demo-2025"  # noqa: S105
HOME_AGENCY = "csc"
HOME_POLICE = "met-police"
BOROUGH = "Northbrook"

SCHOOLS: list[SchoolSpec] = [
    SchoolSpec("school-northbrook-primary", "Northbrook Primary School", 2101),
    SchoolSpec("school-st-marys", "St Mary's CE Primary School", 3402),
    SchoolSpec("school-riverside", "Riverside Primary Academy", 2215),
    SchoolSpec("school-northbrook-high", "Northbrook High School", 4011),
    SchoolSpec("school-lea-valley", "Lea Valley Academy", 4125),
    SchoolSpec("school-forest-park", "Forest Park School", 4302),
]
GP_PRACTICES = ["gp-high-street", "gp-riverside", "gp-park-lane"]
PHARMACIES = ["pharmacy-hoe-street", "pharmacy-market"]

# (code, name, kind, police force)
AGENCIES: list[tuple[str, str, str, str]] = [
    (HOME_AGENCY, f"{BOROUGH} Children's Social Care", AgencyKind.CSC, ""),
    (HOME_POLICE, "Metropolitan Police Service", AgencyKind.POLICE, "met"),
    ("notts-police", "Nottinghamshire Police", AgencyKind.POLICE, "nottinghamshire"),
    ("kent-police", "Kent Police", AgencyKind.POLICE, "kent"),
    ("nhs-trust", f"{BOROUGH} University Hospitals NHS Trust", AgencyKind.HEALTH, ""),
    ("gp-high-street", "High Street Medical Centre", AgencyKind.GP, ""),
    ("gp-riverside", "Riverside Surgery", AgencyKind.GP, ""),
    ("gp-park-lane", "Park Lane Health Centre", AgencyKind.GP, ""),
    ("pharmacy-hoe-street", "Hoe Street Pharmacy", AgencyKind.PHARMACY, ""),
    ("pharmacy-market", "Market Square Pharmacy", AgencyKind.PHARMACY, ""),
    ("education", f"{BOROUGH} Education Service", AgencyKind.SCHOOL, ""),
    *[(s.code, s.name, AgencyKind.SCHOOL, "") for s in SCHOOLS],
    ("housing", f"{BOROUGH} Housing Options", AgencyKind.HOUSING, ""),
    ("youth-justice", f"{BOROUGH} Youth Justice Service", AgencyKind.YOUTH_JUSTICE, ""),
    ("partnership", f"{BOROUGH} Safeguarding Children Partnership", AgencyKind.PARTNERSHIP, ""),
]

# (code, name, kind, agency)
TEAMS: list[tuple[str, str, str, str]] = [
    ("mash", "Multi-Agency Safeguarding Hub", TeamKind.MASH, HOME_AGENCY),
    ("sw-north", "Social work team north", TeamKind.SOCIAL_WORK, HOME_AGENCY),
    ("sw-south", "Social work team south", TeamKind.SOCIAL_WORK, HOME_AGENCY),
    ("iro", "Independent reviewing officers", TeamKind.IRO, HOME_AGENCY),
    ("exploitation", "Exploitation and missing (Get Safe)", TeamKind.EXPLOITATION, HOME_AGENCY),
    ("missing", "Missing children team", TeamKind.MISSING, HOME_AGENCY),
    ("ehe", "Elective home education", TeamKind.EHE, HOME_AGENCY),
    ("ig", "Information governance", TeamKind.INFORMATION_GOVERNANCE, HOME_AGENCY),
    ("police-safeguarding", "Police safeguarding (MASH liaison)", TeamKind.POLICE, HOME_POLICE),
    ("health-safeguarding", "Safeguarding children health team", TeamKind.HEALTH, "nhs-trust"),
    ("gp-liaison", "GP safeguarding liaison", TeamKind.GP_LIAISON, "gp-high-street"),
    ("education-safeguarding", "Education safeguarding", TeamKind.EDUCATION, "education"),
    ("housing-liaison", "Housing liaison", TeamKind.HOUSING_LIAISON, "housing"),
    ("partnership", "Partnership business unit", TeamKind.PARTNERSHIP, "partnership"),
]

# (role, team, how many); the first of a role listed with a team in MANAGERS manages it.
STAFF: list[tuple[str, str, int]] = [
    (Role.MASH_PRACTITIONER, "mash", 8),
    (Role.MASH_MANAGER, "mash", 2),
    (Role.SOCIAL_WORKER, "sw-north", 6),
    (Role.SOCIAL_WORKER, "sw-south", 6),
    (Role.SOCIAL_WORKER, "missing", 1),
    (Role.SOCIAL_WORKER, "ehe", 1),
    (Role.TEAM_MANAGER, "sw-north", 1),
    (Role.TEAM_MANAGER, "sw-south", 1),
    (Role.TEAM_MANAGER, "iro", 1),
    (Role.TEAM_MANAGER, "exploitation", 1),
    (Role.TEAM_MANAGER, "missing", 1),
    (Role.TEAM_MANAGER, "ehe", 1),
    (Role.IRO, "iro", 3),
    (Role.EXPLOITATION_COORDINATOR, "exploitation", 3),
    (Role.POLICE_LIAISON, "police-safeguarding", 3),
    (Role.HEALTH_LIAISON, "health-safeguarding", 3),
    (Role.HEALTH_LIAISON, "gp-liaison", 1),
    (Role.EDUCATION_LIAISON, "education-safeguarding", 3),
    (Role.HOUSING_LIAISON, "housing-liaison", 2),
    (Role.PARTNERSHIP_MANAGER, "partnership", 2),
    (Role.IG_OFFICER, "ig", 2),
]
# Teams whose manager is the first member with this role.
MANAGERS: dict[str, str] = {
    "mash": Role.MASH_MANAGER, "sw-north": Role.TEAM_MANAGER, "sw-south": Role.TEAM_MANAGER,
    "iro": Role.TEAM_MANAGER, "exploitation": Role.TEAM_MANAGER, "missing": Role.TEAM_MANAGER,
    "ehe": Role.TEAM_MANAGER, "ig": Role.IG_OFFICER,
    "police-safeguarding": Role.POLICE_LIAISON, "health-safeguarding": Role.HEALTH_LIAISON,
    "gp-liaison": Role.HEALTH_LIAISON, "education-safeguarding": Role.EDUCATION_LIAISON,
    "housing-liaison": Role.HOUSING_LIAISON, "partnership": Role.PARTNERSHIP_MANAGER,
}


def system_username(agency_code: str) -> str:
    return f"{agency_code}-system"


@dataclass
class Organisation:
    agencies: dict[str, Agency] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    staff: dict[str, list[User]] = field(default_factory=dict)  # by role
    systems: dict[str, User] = field(default_factory=dict)  # by agency code

    def team_members(self, team: str, role: str) -> list[User]:
        return [u for u in self.staff.get(role, []) if u.team_id == self.teams[team].pk]

    def manager_of(self, team: str) -> User | None:
        return self.teams[team].manager


def professional_count() -> int:
    return sum(count for _, _, count in STAFF)


def organisation_create(*, fake: Faker, passwords: bool = True) -> Organisation:
    """The borough's organisations. ``passwords=False`` leaves the professionals without a
    usable password until ``demo_passwords_set`` (their hashes are computed meanwhile)."""
    org = Organisation()
    for code, name, kind, force in AGENCIES:
        org.agencies[code] = agency_create(actor=None, code=code, name=name, kind=kind,
                                           police_force=force)
    for code, name, kind, agency_code in TEAMS:
        org.teams[code] = team_create(actor=None, code=code, name=name, kind=kind,
                                      agency=org.agencies[agency_code])
    numbers: dict[str, int] = {}
    managed: set[str] = set()
    for role, team_code, count in STAFF:
        team = org.teams[team_code]
        for _ in range(count):
            numbers[role] = numbers.get(role, 0) + 1
            manages = MANAGERS.get(team_code) == role and team_code not in managed
            if manages:
                managed.add(team_code)
            sex = fake.random_element(("M", "F"))
            user = user_create(
                actor=None, username=f"{role.replace('_', '.')}{numbers[role]}",
                password=DEMO_PASSWORD if passwords else None, role=role, agency=team.agency,
                team=team,
                first_name=fake.first_name_male() if sex == "M" else fake.first_name_female(),
                last_name=fake.last_name(), manages_team=manages,
            )
            org.staff.setdefault(role, []).append(user)
    for code, agency in org.agencies.items():
        if agency.kind == AgencyKind.PARTNERSHIP:
            continue  # the partnership reads aggregates; it does not feed events
        org.systems[code] = user_create(actor=None, username=system_username(code),
                                        password=None, role=Role.AGENCY_SYSTEM, agency=agency)
    return org


def professionals(org: Organisation) -> list[User]:
    return [user for users in org.staff.values() for user in users]


@transaction.atomic
def demo_passwords_set(*, users: list[User], hashes: list[str]) -> None:
    """Give each professional the demo password: one salted Argon2 hash each, at full cost.

    The hashes (about 0.2 s each) are computed on other threads while the borough's events are
    generated, since Argon2 releases the GIL; here they are only stored, and audited.
    """
    if len(users) != len(hashes):
        raise ValueError("one password hash per user")
    for user, encoded in zip(users, hashes, strict=True):
        identify_hasher(encoded)  # a hash in a configured format, never a plain password
        user.password = encoded
        user.save(update_fields=["password"])
    audit_append(actor=None, action="demo.passwords_set", object_type="user",
                 detail={"users": [user.username for user in users]})


@dataclass(frozen=True)
class Login:
    role: str
    username: str
    team: str
    agency: str


def demo_logins() -> list[Login]:
    """One login per role: the first user of each role (the home police system for the API)."""
    logins = []
    for role in Role:
        users = User.objects.filter(role=role).select_related("team", "agency")
        user = users.order_by("username").first()
        if role == Role.AGENCY_SYSTEM:
            user = users.filter(username=system_username(HOME_POLICE)).first() or user
        if user is None:
            continue
        logins.append(Login(
            role=str(role.label), username=user.username,
            team=user.team.name if user.team else "-",
            agency=user.agency.name if user.agency else "-",
        ))
    return logins


def police_token_issue() -> str | None:
    """A fresh API key for the home police system (keys are shown once, so always a new one)."""
    system = User.objects.filter(username=system_username(HOME_POLICE)).first()
    if system is None:
        return None
    return agency_token_create(actor=None, user=system, name="demo police feed")
