"""``demo_generate``: a deterministic synthetic borough, built through the one door.

The borough's organisations are created through the organisations services; every fact about a
child enters through ``event_submit`` in simulated time (``clock.frozen_at(occurred_at)``), in
chronological order, so alerts, clocks, sweeps and acknowledgements behave exactly as they
would have live. The story ends "now": a few custody bookings of the last hour are left open so
the MASH queue shows live golden-hour countdowns.

Commits are grouped (``STEPS_PER_COMMIT`` steps per outer transaction; each submission is
still its own atomic block inside it), which saves a disk sync per event on SQLite.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from faker import Faker

from reachable.access.models import AccessGrant, GrantReason
from reachable.access.services import allocation_create
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.errors import NotFound, ValidationFailed
from reachable.demo.organisation import (
    DEMO_PASSWORD,
    HOME_AGENCY,
    HOME_POLICE,
    SCHOOLS,
    Login,
    Organisation,
    demo_logins,
    demo_passwords_set,
    organisation_create,
    police_token_issue,
    professional_count,
    professionals,
)
from reachable.demo.synthetic import (
    Child,
    Family,
    age_on,
    make_families,
    nickname,
    person_subject,
)
from reachable.intake.services import event_submit, intake_session
from reachable.organisations.models import Agency, Role, Team, User
from reachable.people.models import Identifier, IdentifierKind, Person, parse_person_ref
from reachable.rules.models import Alert, AlertStatus, Clock, ClockStatus
from reachable.rules.services import alert_acknowledge
from reachable.rules.sweep import clocks_sweep

STEPS_PER_COMMIT = 200
Progress = Callable[[str], None]

FORCES: list[tuple[str, str, tuple[str, ...], float]] = [
    # agency, force, stations, weight
    (HOME_POLICE, "met", ("Northbrook", "Leyton", "Stoke Newington", "Brixton"), 0.75),
    ("notts-police", "nottinghamshire", ("Bridewell", "Mansfield"), 0.12),
    ("kent-police", "kent", ("Medway", "Margate", "Folkestone"), 0.13),
]
OFFENCES = ("possession with intent to supply", "robbery", "possession of a bladed article",
            "theft", "criminal damage", "assault", "burglary", "breach of the peace")
CONTACT_NARRATIVES = (
    "Neighbour reports shouting and a child crying late at night.",
    "School concerned about unexplained bruising and poor attendance.",
    "Police attended a domestic incident; children present in the home.",
    "Health visitor concerned about home conditions and missed appointments.",
    "Young person seen with older males and new phone and clothes.",
    "Parent asking for help with behaviour; child going missing overnight.",
    "GP concerned about parental mental health and the care of the children.",
    "Anonymous report that the child is left alone for long periods.",
)
REFERRERS = ("police", "school", "health", "gp", "family", "anonymous", "housing")
ACK_NOTES = (
    "Custody record and family history shared with custody sergeant and duty social worker.",
    "Checks completed; known to CSC - allocated worker informed and shared with police.",
    "Appropriate adult arranged; health and education information shared with police.",
    "MASH checks shared with custody; return home plan agreed with parent.",
)


@dataclass
class DemoResult:
    created: bool
    logins: list[Login]
    password: str
    police_token: str | None
    curl: str
    counts: dict[str, int]
    elapsed: float
    seed: int = 0
    children: int = 0


@dataclass(order=True)
class _Step:
    at: datetime
    seq: int
    kind: str = field(compare=False)  # "event", "ack", "allocate", "sweep"
    payload: dict[str, Any] = field(default_factory=dict, compare=False)
    ack_probability: float = field(default=0.0, compare=False)
    allocate: bool = field(default=False, compare=False)


class _Planner:
    """Turns families into a chronological list of steps (events, sweeps)."""

    def __init__(self, *, rng: random.Random, start: datetime, end: datetime) -> None:
        self.rng = rng
        self.start = start
        self.end = end
        self.steps: list[_Step] = []
        self.records = 0

    def _record(self, prefix: str) -> str:
        self.records += 1
        return f"{prefix}-{self.records:07d}"

    def moment(self, a: datetime, b: datetime) -> datetime:
        span = int((b - a).total_seconds())
        return a + timedelta(seconds=self.rng.randrange(span)) if span > 0 else a

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=self.rng.uniform(low * 3600, high * 3600))

    def add(self, at: datetime, etype: str, agency: str, subject: dict[str, Any],
            data: dict[str, Any] | None = None, related: list[dict[str, Any]] | None = None,
            *, prefix: str = "REC", ack: float = 0.0, allocate: bool = False) -> bool:
        if at > self.end:
            return False  # still in the future: the story is still unfolding
        payload: dict[str, Any] = {
            "type": etype, "occurred_at": at.isoformat(),
            "source": {"agency": agency, "record": self._record(prefix)},
            "subject": subject, "data": data or {},
        }
        if related:
            payload["related"] = related
        self.steps.append(_Step(at=at, seq=len(self.steps), kind="event", payload=payload,
                                ack_probability=ack, allocate=allocate))
        return True

    # --- people ----------------------------------------------------------------------------
    def register(self, family: Family, child: Child) -> tuple[datetime, str]:
        """The child's first record; returns when, and which agency holds it."""
        rng = self.rng
        born = datetime.combine(child.dob, datetime.min.time(), tzinfo=UTC)
        at = max(self.moment(self.start, self.start + timedelta(days=14)),
                 born + self.hours(2, 30))
        at = max(min(at, self.end - timedelta(minutes=30)), born)
        subject = person_subject(child, family)
        if born > self.start:
            # Born during the story: the hospital registers the baby and records the mother.
            agency = "nhs-trust"
            self.add(at, "person.registered", agency, subject, {"record_type": "birth"},
                     prefix="MAT")
            self.relationship(at + timedelta(minutes=10), agency, family, child, "mother")
        elif child.nhs:
            agency = rng.choice(["gp-high-street", "gp-riverside", "gp-park-lane"])
            self.add(at, "person.registered", agency, subject, {"record_type": "patient"},
                     prefix="GP")
        elif child.school:
            agency = child.school
            self.add(at, "person.registered", agency,
                     person_subject(child, family, upn=True), {"record_type": "pupil"},
                     prefix="PUP")
        else:
            agency = HOME_AGENCY
            subject["local_child_id"] = f"LCS{child.key:06d}"
            self.add(at, "person.registered", agency, subject, {"record_type": "child"},
                     prefix="LCS")
        if child.school and child.nhs and rng.random() < 0.2:
            # A school's own record: matched to the child by name and date of birth.
            self.add(at + self.hours(1, 48), "person.registered", child.school,
                     person_subject(child, family, nhs=False, upn=True),
                     {"record_type": "pupil"}, prefix="PUP")
        return at, agency

    def relationship(self, at: datetime, agency: str, family: Family, child: Child,
                     kind: str) -> None:
        parent = family.mother if kind == "mother" else family.father
        if parent is None:
            return
        related = person_subject(parent, family) | {"role": "related"}
        self.add(at, "relationship.recorded", agency, person_subject(child, family),
                 {"kind": kind}, [related], prefix="REL")

    # --- stories ---------------------------------------------------------------------------
    def contact(self, family: Family, child: Child, frm: datetime, to: datetime) -> None:
        rng = self.rng
        t0 = self.moment(frm, to)
        subject = person_subject(child, family)
        referrer = rng.choice(REFERRERS)
        if not self.add(t0, "contact.received", HOME_AGENCY, subject,
                        {"narrative": rng.choice(CONTACT_NARRATIVES), "referrer_agency": referrer,
                         "accepted_as_referral": rng.random() < 0.6}, prefix="CON"):
            return
        self.relationship(t0 + timedelta(minutes=5), HOME_AGENCY, family, child, "mother")
        if family.father is not None and rng.random() < 0.4:
            self.relationship(t0 + timedelta(minutes=6), HOME_AGENCY, family, child, "father")
        rating = rng.choices(("red", "amber", "green"), weights=(15, 45, 40))[0]
        screened = t0 + self.hours(1, 20)
        if not self.add(screened, "mash.screened", HOME_AGENCY, subject,
                        {"rating": rating, "rationale": f"{rating.title()} after MASH checks."},
                        prefix="MASH"):
            return
        outcome = rng.choice({
            "red": ("strategy_discussion", "assessment"),
            "amber": ("assessment", "early_help", "assessment"),
            "green": ("early_help", "no_further_action", "no_further_action"),
        }[rating])
        decided = screened + self.hours(2, 48)
        allocate = outcome in ("assessment", "strategy_discussion")
        if self.add(decided, "mash.decided", HOME_AGENCY, subject,
                    {"outcome": outcome, "rationale": "Threshold decision by MASH manager."},
                    prefix="MASH", allocate=allocate) and allocate:
            self.add(decided + self.hours(20, 30), "assessment.started", HOME_AGENCY, subject,
                     {"referral_date": t0.date().isoformat()}, prefix="ASMT")

    def ed_attendance(self, family: Family, child: Child, frm: datetime, to: datetime) -> None:
        rng = self.rng
        at = self.moment(frm, to)
        if age_on(child.dob, at.date()) >= 12:
            reason = rng.choice(("assault", "self_harm", "overdose", "weapon_injury", "injury",
                                 "illness", "sexual_assault"))
        else:
            reason = rng.choice(("injury", "illness", "injury", "seizure", "other"))
        self.add(at, "ed.attended", "nhs-trust", person_subject(child, family),
                 {"reason": reason, "hospital": "Northbrook University Hospital"}, prefix="ED")

    def missing(self, family: Family, child: Child, frm: datetime, to: datetime) -> None:
        rng = self.rng
        for _ in range(rng.choices((1, 2, 3), weights=(60, 25, 15))[0]):
            at = self.moment(frm, to)
            episode = self._record("EP")
            subject = person_subject(child, family, nhs=False)
            if not self.add(at, "missing.reported", HOME_POLICE, subject,
                            {"episode_id": episode,
                             "kind": rng.choice(("missing", "missing", "absent"))},
                            prefix="MISS"):
                continue
            back = at + self.hours(3, 60)
            if not self.add(back, "missing.returned", HOME_POLICE, subject,
                            {"episode_id": episode}, prefix="MISS"):
                continue
            offered = back + self.hours(1, 70)
            if self.add(offered, "rhi.offered", HOME_AGENCY, person_subject(child, family),
                        {"episode_id": episode}, prefix="RHI") and rng.random() < 0.5:
                self.add(offered + self.hours(24, 120), "rhi.completed", HOME_AGENCY,
                         person_subject(child, family),
                         {"episode_id": episode, "refused": rng.random() < 0.2,
                          "reasons": "Staying with older friends; says they felt safe."},
                         prefix="RHI")

    def school(self, family: Family, child: Child, frm: datetime, to: datetime) -> None:
        rng = self.rng
        if child.school is None:
            return
        at = self.moment(frm, to)
        subject = person_subject(child, family, nhs=False, upn=True)
        roll = rng.random()
        if roll < 0.55:
            permanent = rng.random() < 0.1
            self.add(at, "school.excluded", child.school, subject,
                     {"kind": "permanent" if permanent else "suspension",
                      **({} if permanent else {"days": rng.randint(1, 5)})}, prefix="EXC")
        elif roll < 0.85:
            self.add(at, "school.missing_education", "education", subject,
                     {"notes": "Not seen at school for 10 days; home visit no answer."},
                     prefix="CME")
        else:
            self.add(at, "school.ehe_registered", child.school, subject,
                     {"school": child.school, "reason": "Parent's letter of withdrawal."},
                     prefix="EHE")

    def school_application(self, family: Family, child: Child, frm: datetime, to: datetime
                           ) -> None:
        at = self.moment(frm, to)
        application = self._record("APP")
        subject = person_subject(child, family, nhs=False, upn=True)
        if self.add(at, "school.application_received", "education", subject,
                    {"application_id": application}, prefix="ADM") and self.rng.random() < 0.7:
            school = self.rng.choice(SCHOOLS)
            self.add(at + timedelta(days=self.rng.randint(5, 40)), "school.place_offered",
                     "education", subject, {"application_id": application,
                                            "school": school.name}, prefix="ADM")

    def housing(self, family: Family, child: Child, frm: datetime, to: datetime) -> None:
        at = self.moment(frm, to)
        self.add(at, "housing.application_received", "housing",
                 person_subject(child, family, nhs=False),
                 {"application_id": self._record("HOU"),
                  "household": f"{len(family.children)} children, "
                               f"{'two parents' if family.father else 'single parent'}"},
                 prefix="HOU")

    def custody(self, family: Family, child: Child, at: datetime, *, ack: float | None = None,
                home_only: bool = False) -> bool:
        rng = self.rng
        age = age_on(child.dob, at.date())
        if not 10 <= age < 18:
            return False
        agency, force, stations, _ = (
            FORCES[0] if home_only else rng.choices(FORCES, weights=[f[3] for f in FORCES])[0]
        )
        if child.nhs and rng.random() < 0.2:
            # Gives a nickname; the custody record carries the NHS number, so it still links.
            subject = person_subject(child, family, given=nickname(child.given), address=False)
        else:
            subject = person_subject(child, family, nhs=False, address=False)
        probability = ack if ack is not None else (0.75 if agency == HOME_POLICE else 0.4)
        return self.add(at, "custody.booked", agency, subject,
                        {"force": force, "station": rng.choice(stations),
                         "offence": rng.choice(OFFENCES)}, prefix="CUST", ack=probability)

    def custody_story(self, family: Family, child: Child, frm: datetime, to: datetime) -> None:
        rng = self.rng
        booked = [self.moment(frm, to)
                  for _ in range(rng.choices((1, 2, 3), weights=(70, 20, 10))[0])]
        made = [at for at in sorted(booked) if self.custody(family, child, at)]
        if made and rng.random() < 0.35:
            self.add(made[0] + self.hours(24, 240), "exploitation_screening.completed",
                     HOME_AGENCY, person_subject(child, family),
                     {"level": rng.choice(("emerging", "moderate", "significant")),
                      "kind": rng.choice(("criminal", "criminal", "sexual", "both")),
                      "indicators": ["missing episodes", "unexplained money"]}, prefix="EXS")


def _plan(families: list[Family], *, rng: random.Random, start: datetime, end: datetime
          ) -> list[_Step]:
    planner = _Planner(rng=rng, start=start, end=end)
    last_story = end - timedelta(hours=3)
    registered_at: dict[int, datetime] = {}
    for family in families:
        for number, child in enumerate(sorted(family.children, key=lambda c: c.dob)):
            registered, agency = planner.register(family, child)
            registered_at[child.key] = registered
            if number == 0 and agency != "nhs-trust":
                # The eldest's record names the mother, so every family has a parent on file.
                planner.relationship(registered + timedelta(minutes=15), agency, family, child,
                                     "mother")
            frm = registered + timedelta(days=1)
            if frm >= last_story:
                continue
            age = age_on(child.dob, end.date())
            if rng.random() < 0.15:
                planner.contact(family, child, frm, last_story)
            if rng.random() < 0.06:
                planner.ed_attendance(family, child, frm, last_story)
            if age >= 11 and rng.random() < 0.06:
                planner.missing(family, child, frm, last_story)
            if child.school and rng.random() < 0.06:
                planner.school(family, child, frm, last_story)
            if child.school and rng.random() < 0.02:
                planner.school_application(family, child, frm, last_story)
            if age >= 11 and rng.random() < 0.05:
                planner.custody_story(family, child, frm, last_story)
        if rng.random() < 0.04:
            eldest = min(family.children, key=lambda c: c.dob)
            frm = max(start + timedelta(days=15), registered_at[eldest.key] + timedelta(days=1))
            if frm < last_story:
                planner.housing(family, eldest, frm, last_story)
    # The last hour: children in custody now, clocks still running in the MASH queue.
    teenagers = [(f, c) for f in families for c in f.children
                 if 12 <= age_on(c.dob, end.date()) <= 16]
    for minutes, (family, child) in zip(
        (52, 38, 21, 9), rng.sample(teenagers, min(4, len(teenagers))), strict=False
    ):
        planner.custody(family, child, end - timedelta(minutes=minutes), ack=0.0,
                        home_only=True)
    day = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        planner.steps.append(_Step(at=day, seq=len(planner.steps), kind="sweep"))
        day += timedelta(days=1)
    planner.steps.append(_Step(at=end, seq=len(planner.steps), kind="sweep"))
    return planner.steps


class _Runner:
    """Replays the planned steps in time order through the services."""

    def __init__(self, *, org: Organisation, rng: random.Random, steps: list[_Step],
                 progress: Progress) -> None:
        self.org = org
        self.rng = rng
        self.heap = steps
        heapq.heapify(self.heap)
        self.seq = len(steps)
        self.progress = progress
        self.mash = org.team_members("mash", Role.MASH_PRACTITIONER)
        self.workers = [*org.team_members("sw-north", Role.SOCIAL_WORKER),
                        *org.team_members("sw-south", Role.SOCIAL_WORKER)]
        self.turn = 0
        self.allocated: set[int] = set()

    def _push(self, at: datetime, kind: str, payload: dict[str, Any]) -> None:
        heapq.heappush(self.heap, _Step(at=at, seq=self.seq, kind=kind, payload=payload))
        self.seq += 1

    def run(self) -> None:
        total = len(self.heap)
        done = 0
        next_percent = 10
        started = time.monotonic()
        while self.heap:
            # One transaction per group of steps; the intake session shares lookups between
            # its submissions and writes their audit records together.
            with intake_session():
                for _ in range(STEPS_PER_COMMIT):
                    if not self.heap:
                        break
                    step = heapq.heappop(self.heap)
                    with clock.frozen_at(step.at):
                        self._do(step)
                    done += 1
                    while next_percent <= 100 and done * 100 >= next_percent * total:
                        self.progress(f"events {next_percent}% ({done} steps, "
                                      f"{time.monotonic() - started:.0f} s)")
                        next_percent += 10

    def _do(self, step: _Step) -> None:
        if step.kind == "event":
            agency = step.payload["source"]["agency"]
            submission = event_submit(actor=self.org.systems[agency], payload=step.payload)
            result = submission.result
            for alert in result["alerts"]:
                if alert["route"] == "mash" and self.rng.random() < step.ack_probability:
                    self._push(step.at + timedelta(minutes=self.rng.uniform(6, 56)), "ack",
                               {"alert": alert["id"]})
            if step.allocate:
                self._push(step.at + timedelta(hours=4), "allocate",
                           {"person": parse_person_ref(result["person"])})
        elif step.kind == "ack":
            self.turn += 1
            # Already acknowledged, or no longer visible: nothing to do.
            with contextlib.suppress(NotFound, ValidationFailed):
                alert_acknowledge(actor=self.mash[self.turn % len(self.mash)],
                                  alert_id=step.payload["alert"],
                                  information_shared=self.rng.choice(ACK_NOTES))
        elif step.kind == "allocate":
            person_id = step.payload["person"]
            if person_id is None or person_id in self.allocated or not self.workers:
                return
            self.allocated.add(person_id)
            worker = self.workers[len(self.allocated) % len(self.workers)]
            manager = worker.team.manager if worker.team else None
            allocation_create(actor=manager, person=Person.objects.get(pk=person_id),
                              worker=worker)
        elif step.kind == "sweep":
            clocks_sweep(now=step.at)


def borough_exists() -> bool:
    return Agency.objects.filter(code=HOME_AGENCY).exists()


def demo_counts() -> dict[str, int]:
    eighteen_years_ago = timezone.now().date() - timedelta(days=18 * 365 + 4)
    children = Person.objects.filter(date_of_birth__gt=eighteen_years_ago).count()
    people = Person.objects.count()
    return {
        "agencies": Agency.objects.count(),
        "teams": Team.objects.count(),
        "professionals": User.objects.exclude(role=Role.AGENCY_SYSTEM).count(),
        "agency_systems": User.objects.filter(role=Role.AGENCY_SYSTEM).count(),
        "children": children,
        "adults": people - children,
        "events": Event.objects.count(),
        "custody_bookings": Event.objects.filter(type="custody.booked").count(),
        "alerts": Alert.objects.count(),
        "alerts_open": Alert.objects.filter(status=AlertStatus.OPEN).count(),
        "alerts_acknowledged": Alert.objects.filter(status=AlertStatus.ACKNOWLEDGED).count(),
        "clocks_open": Clock.objects.filter(status=ClockStatus.OPEN).count(),
        "clocks_met": Clock.objects.filter(status=ClockStatus.MET).count(),
        "clocks_breached": Clock.objects.filter(status=ClockStatus.BREACHED).count(),
        "allocations": AccessGrant.objects.filter(reason=GrantReason.ALLOCATED_WORKER).count(),
    }


def curl_example(token: str | None) -> str:
    """The README's golden-hour curl line, for a teenager of the demo borough."""
    today = timezone.now().date()
    ident = (
        Identifier.objects.filter(
            kind=IdentifierKind.NHS,
            person__date_of_birth__lte=date(today.year - 13, today.month, 1),
            person__date_of_birth__gt=date(today.year - 17, today.month, 1),
        ).select_related("person").order_by("person_id").first()
    )
    if ident is None:
        subject = ('{"given_name": "Tomasz", "family_name": "Nowak", '
                   '"date_of_birth": "2011-07-19", "nhs_number": "9434765919"}')
    else:
        p = ident.person
        dob = p.date_of_birth.isoformat() if p.date_of_birth else ""
        subject = (f'{{"given_name": "{p.given_name}", "family_name": "{p.family_name}", '
                   f'"date_of_birth": "{dob}", "nhs_number": "{ident.value}"}}')
    return "\n".join([
        f"TOKEN={token or '<issue a token for met-police-system>'}",
        "curl -sS -X POST http://127.0.0.1:8000/api/v1/events \\",
        '  -H "Authorization: Token $TOKEN" -H "Content-Type: application/json" \\',
        '  -d \'{"type": "custody.booked",',
        '       "occurred_at": "\'"$(date -u +%Y-%m-%dT%H:%M:%SZ)"\'",',
        '       "source": {"agency": "met-police", "record": "CUST-DEMO-\'"$(date +%s)"\'"},',
        f'       "subject": {subject},',
        '       "data": {"force": "met", "station": "Brixton", "offence": "robbery"}}\'',
    ])


def _quiet(message: str) -> None:
    return None


def demo_generate(*, children: int = 5000, seed: int = 42, months: int = 6,
                  now: datetime | None = None, progress: Progress | None = None) -> DemoResult:
    """Build the borough, or, if one exists, only issue a fresh police token."""
    report = progress or _quiet
    started = time.monotonic()
    if borough_exists():
        token = police_token_issue()
        return DemoResult(created=False, logins=demo_logins(), password=DEMO_PASSWORD,
                          police_token=token, curl=curl_example(token), counts=demo_counts(),
                          elapsed=time.monotonic() - started, seed=seed, children=children)
    end = (now or timezone.now()).astimezone(UTC).replace(microsecond=0)
    start = end - timedelta(days=round(months * 30.44))
    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    # Argon2 at full cost is ~0.2 s a user; it releases the GIL, so the hashes are computed
    # on other threads while the events are generated, and stored at the end.
    hasher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="demo-hash")
    hashes = [hasher.submit(make_password, DEMO_PASSWORD) for _ in range(professional_count())]
    try:
        with clock.frozen_at(start - timedelta(days=1)), transaction.atomic():
            report("organisations: agencies, teams, professionals")
            org = organisation_create(fake=fake, passwords=False)
        report(f"people: {children} children in families")
        families = make_families(children=children, rng=rng, fake=fake, today=end.date(),
                                 schools=SCHOOLS)
        steps = _plan(families, rng=rng, start=start, end=end)
        report(f"events: {sum(s.kind == 'event' for s in steps)} planned from "
               f"{start:%d %b %Y} to {end:%d %b %Y %H:%M} UTC")
        _Runner(org=org, rng=random.Random(seed + 1), steps=steps, progress=report).run()
        report("passwords: storing the professionals' salted hashes")
        demo_passwords_set(users=professionals(org), hashes=[h.result() for h in hashes])
    finally:
        hasher.shutdown(cancel_futures=True)
    token = police_token_issue()
    return DemoResult(created=True, logins=demo_logins(), password=DEMO_PASSWORD,
                      police_token=token, curl=curl_example(token), counts=demo_counts(),
                      elapsed=time.monotonic() - started, seed=seed, children=children)
