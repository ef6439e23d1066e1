"""THE ACCESS MATRIX: every URL x every role x the actor's relationship to the child.

Expectations are written out here as tables (role -> activities; relationship -> whether it
links the actor to the child), transcribed from the access rules (docs/architecture.md,
notes/url-contract.md, access/policies.py) rather than computed by the policy code under test.
The URL list is read from the resolver: a URL pattern without a row here fails
``test_every_url_has_a_row``, so every new URL must be added to the matrix.

Each role gets its own child (registered by an agency none of the users belong to), so a
relationship set up for one role never leaks to a colleague in the same team. POSTs run in a
savepoint that is rolled back, so one cell's side effects never change the next cell.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from reachable.access.models import GrantReason
from reachable.access.services import allocation_create, break_glass_open, relationship_grant
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.intake.services import event_submit
from reachable.mpi.models import PersonMerge, ReviewItem
from reachable.mpi.services import person_merge, review_item_open
from reachable.organisations.models import Role, User
from reachable.people.models import Person
from reachable.people.records import person_row_create
from reachable.rules.models import Alert
from tests.borough import Borough

NOW = datetime.fromisoformat("2025-03-06T12:00:00+00:00")
REASON = "Urgent: child reported missing overnight, need the history for the police call."
INFO = "Custody record shared with the MASH police desk and the duty social worker."

# --- The policy, written out -----------------------------------------------------------------

VR, VS, ACK, BG = "view_record", "view_sensitive", "acknowledge_alert", "break_glass"
AUDIT, ANY_AUDIT, SUBMIT, QUEUE = (
    "view_record_audit", "view_any_record_audit", "submit_event", "view_team_queue")
CSC = {VR, VS, ACK, BG, QUEUE}
LIAISON = {VR, ACK, BG, QUEUE}

# role: (activities, has a team, an agency-level relationship is enough to open a record)
ROLES: dict[str, tuple[set[str], bool, bool]] = {
    Role.MASH_PRACTITIONER: (CSC, True, False),
    Role.MASH_MANAGER: (CSC | {AUDIT}, True, False),
    Role.SOCIAL_WORKER: (CSC, True, False),
    Role.TEAM_MANAGER: (CSC | {AUDIT}, True, False),
    Role.IRO: (CSC, True, False),
    Role.EXPLOITATION_COORDINATOR: (CSC, True, False),
    Role.POLICE_LIAISON: (LIAISON, True, True),
    Role.HEALTH_LIAISON: (LIAISON, True, True),
    Role.EDUCATION_LIAISON: (LIAISON, True, True),
    Role.HOUSING_LIAISON: (LIAISON, True, True),
    Role.PARTNERSHIP_MANAGER: (set(), True, False),
    Role.IG_OFFICER: ({ANY_AUDIT}, True, False),
    Role.AGENCY_SYSTEM: ({SUBMIT}, False, False),
}

# The actor's relationship to the child -> does it link them (given the role's shape)?
STATES: dict[str, Callable[[set[str], bool, bool], bool]] = {
    "none": lambda acts, team, agency_role: False,
    "allocated_worker": lambda acts, team, agency_role: True,
    "team_on_case": lambda acts, team, agency_role: team,
    "agency_supplied_event": lambda acts, team, agency_role: agency_role,
    "break_glass_open": lambda acts, team, agency_role: BG in acts,
    "break_glass_expired": lambda acts, team, agency_role: False,
}


@dataclass(frozen=True)
class Who:
    role: str | None  # None: anonymous
    acts: frozenset[str] = frozenset()
    linked: bool = False  # a live relationship (or unexpired break-glass) to the child
    team: bool = False

    @property
    def signed_in(self) -> bool:
        return self.role is not None

    @property
    def sees_child(self) -> bool:
        return VR in self.acts and self.linked

    @property
    def sees_alert(self) -> bool:
        # The alert is routed to the actor's own team.
        return QUEUE in self.acts and self.team and self.sees_child

    @property
    def sees_viewers(self) -> bool:
        return ANY_AUDIT in self.acts or (AUDIT in self.acts and self.sees_child)


LOGIN = "/sign-in"
ANON_PAGE = 302  # anonymous users are sent to sign in


def web(expected: Callable[[Who], int]) -> Callable[[Who], int]:
    return lambda who: expected(who) if who.signed_in else ANON_PAGE


@dataclass(frozen=True)
class Row:
    method: str
    path: Callable[[Ctx], str]
    expected: Callable[[Who], int | set[int]]
    stateless: bool = False  # same answer whatever the relationship: checked once per role
    body: Callable[[Ctx], dict[str, Any]] | None = None
    # content check: (text that must appear in the page) iff (predicate)
    shows: tuple[Callable[[Ctx], str], Callable[[Who], bool]] | None = None


@dataclass
class Ctx:
    """The objects one role's requests are about."""

    person: Person
    alert: Alert
    role: str
    agency: str


MISSING = 10**9

# --- The master person index (reachable.mpi) ---------------------------------------------------
# Clerical review is a role duty, not a relationship to the child: these answers depend on the
# role alone (mpi/policies.py), so they are checked under every relationship state to prove it.
MPI_VIEW = {Role.MASH_PRACTITIONER, Role.MASH_MANAGER, Role.IG_OFFICER}
MPI_DECIDE = {Role.MASH_PRACTITIONER, Role.MASH_MANAGER}
MPI_UNMERGE = {Role.MASH_MANAGER}


def _mpi_person(ctx: Ctx, given: str, dob: str) -> Person:
    """A fresh record with no relationships, written directly (not through intake) so the
    linkage engine cannot link it to anyone: the review rows must not depend on its model."""
    with transaction.atomic():
        return person_row_create(given_name=given, family_name=ctx.person.given_name,
                                 date_of_birth=date.fromisoformat(dob), sex="U", at=NOW,
                                 source_agency="notts-police")


def _review(ctx: Ctx) -> ReviewItem:
    """An open review item between two of the role's own fresh records (made once)."""
    source = f"matrix:{ctx.person.pk}"
    item = ReviewItem.objects.filter(source=source).first()
    if item is None:
        item = review_item_open(
            incoming=_mpi_person(ctx, "Reviewcase", "2013-02-02"),
            candidate=_mpi_person(ctx, "Candidatecase", "2014-06-07"),
            match_weight=9.5, match_probability=0.93, comparison=[], model_version="matrix",
            source=source)
    assert item is not None
    return item


def _merge(ctx: Ctx) -> PersonMerge:
    reason = f"matrix:{ctx.person.pk}"
    merge = PersonMerge.objects.filter(reason=reason).first()
    if merge is None:
        merge = person_merge(actor=None, survivor=_mpi_person(ctx, "Survivorcase", "2015-08-09"),
                             merged=_mpi_person(ctx, "Mergedcase", "2016-10-11"), reason=reason)
    return merge


def _mpi(who: Who, allowed: set[str], yes: int, seen: int | None = None) -> int:
    """``yes`` for the allowed roles; ``seen`` for roles that may look but not act; else 404."""
    if who.role in allowed:
        return yes
    return seen if seen is not None and who.role in MPI_VIEW else 404

ROWS: dict[str, Row] = {
    "healthz": Row("GET", lambda c: "/healthz", lambda w: 200, stateless=True),
    # OPTIONS runs the same authentication and permission gate as GET without generating the
    # whole document (about a second each); tests/api checks GET itself.
    "api:schema": Row("OPTIONS", lambda c: "/api/schema/",
                      lambda w: 200 if w.signed_in else {401, 403}, stateless=True),
    "api:events": Row(
        "POST", lambda c: "/api/v1/events",
        lambda w: 401 if not w.signed_in else (201 if SUBMIT in w.acts else 403),
        stateless=True,
        body=lambda c: {
            "type": "person.registered", "occurred_at": "2025-03-06T11:00:00+00:00",
            "source": {"agency": c.agency, "record": "MATRIX-NEW"},
            "subject": {"given_name": "Brandnew", "family_name": "Matrixchild"},
            "data": {},
        },
    ),
    "^assets/(?P<path>.*)$": Row("GET", lambda c: "/assets/images/favicon.ico",
                                 lambda w: 302, stateless=True),
    "web:login": Row("GET", lambda c: LOGIN,
                     lambda w: {200, 302} if w.signed_in else 200, stateless=True),
    "web:logout": Row("POST", lambda c: "/sign-out", lambda w: 302, stateless=True),
    "web:home": Row("GET", lambda c: "/", web(lambda w: 200), stateless=True),
    "web:notifications": Row("GET", lambda c: "/notifications", web(lambda w: 200),
                             stateless=True),
    "web:notifications_read": Row("POST", lambda c: "/notifications/read",
                                  web(lambda w: 302), stateless=True),
    "web:search": Row(
        "GET", lambda c: f"/people?q={c.person.given_name}+{c.person.family_name}",
        web(lambda w: 200 if VR in w.acts else 403),
        shows=(lambda c: f'href="/people/{c.person.pk}"', lambda w: w.sees_child),
    ),
    "web:person": Row("GET", lambda c: f"/people/{c.person.pk}",
                      web(lambda w: 200 if w.sees_child else 404)),
    "web:person_viewers": Row("GET", lambda c: f"/people/{c.person.pk}/viewers",
                              web(lambda w: 200 if w.sees_viewers else 404)),
    "web:break_glass": Row("GET", lambda c: f"/people/{c.person.pk}/emergency-access",
                           web(lambda w: 200 if BG in w.acts else 403), stateless=True),
    "web:break_glass POST": Row(
        "POST", lambda c: f"/people/{c.person.pk}/emergency-access",
        web(lambda w: 302 if BG in w.acts else 403), body=lambda c: {"reason": REASON},
    ),
    "web:queue": Row(
        "GET", lambda c: "/alerts?status=all", web(lambda w: 200 if QUEUE in w.acts else 403),
        shows=(lambda c: f'href="/alerts/{c.alert.pk}"', lambda w: w.sees_alert),
    ),
    "web:alert": Row("GET", lambda c: f"/alerts/{c.alert.pk}",
                     web(lambda w: 200 if w.sees_alert else 404)),
    "web:alert_acknowledge": Row(
        "POST", lambda c: f"/alerts/{c.alert.pk}/acknowledge",
        web(lambda w: 302 if w.sees_alert and ACK in w.acts else 404),
        body=lambda c: {"information_shared": INFO, "outcome": "noted"},
    ),
    "web:my_alerts": Row(
        "GET", lambda c: "/alerts/mine?status=all", web(lambda w: 200 if QUEUE in w.acts else 403),
        # The matrix's alerts are assigned to nobody, so no one's personal queue lists them.
        shows=(lambda c: f'href="/alerts/{c.alert.pk}"', lambda w: False),
    ),
    "web:alert_assign": Row(
        "POST", lambda c: f"/alerts/{c.alert.pk}/assign",
        web(lambda w: 302 if w.sees_alert and ACK in w.acts else 404), body=lambda c: {},
    ),
    # No team chosen: refused as a form error where the actor may act, otherwise not found.
    "web:alert_reroute": Row(
        "POST", lambda c: f"/alerts/{c.alert.pk}/reroute",
        web(lambda w: 400 if w.sees_alert and ACK in w.acts else 404),
        body=lambda c: {"reason": "wrong team"},
    ),
    "web:alert_escalate": Row(
        "POST", lambda c: f"/alerts/{c.alert.pk}/escalate",
        # 400 where the team has no manager to escalate to.
        web(lambda w: {302, 400} if w.sees_alert and ACK in w.acts else 404),
        body=lambda c: {"reason": "needs a decision now"},
    ),
    "web:rules": Row("GET", lambda c: "/rules",
                     web(lambda w: 403 if w.role == Role.AGENCY_SYSTEM else 200),
                     stateless=True),
    # The same answers for a child that does not exist: nothing reveals existence.
    "web:person missing": Row("GET", lambda c: f"/people/{MISSING}", web(lambda w: 404),
                              stateless=True),
    "web:person_viewers missing": Row("GET", lambda c: f"/people/{MISSING}/viewers",
                                      web(lambda w: 404), stateless=True),
    "web:break_glass missing": Row("GET", lambda c: f"/people/{MISSING}/emergency-access",
                                   web(lambda w: 200 if BG in w.acts else 403), stateless=True),
    "web:break_glass POST missing": Row(
        "POST", lambda c: f"/people/{MISSING}/emergency-access",
        web(lambda w: 404 if BG in w.acts else 403), stateless=True,
        body=lambda c: {"reason": REASON},
    ),
    "web:review_queue": Row(
        "GET", lambda c: (_review(c), "/match-reviews")[1],
        web(lambda w: 200 if w.role in MPI_VIEW else 403), stateless=True,
        shows=(lambda c: f'href="/match-reviews/{_review(c).pk}"', lambda w: True),
    ),
    "web:review_item": Row("GET", lambda c: f"/match-reviews/{_review(c).pk}",
                           web(lambda w: _mpi(w, MPI_VIEW, 200))),
    "web:review_decide": Row(
        "POST", lambda c: f"/match-reviews/{_review(c).pk}/decision",
        web(lambda w: _mpi(w, MPI_DECIDE, 302, seen=403)),
        body=lambda c: {"decision": "accept", "notes": "Same child: matrix."},
    ),
    "web:merge": Row("GET", lambda c: f"/merges/{_merge(c).pk}",
                     web(lambda w: _mpi(w, MPI_VIEW, 200))),
    "web:merge_undo": Row(
        "POST", lambda c: f"/merges/{_merge(c).pk}/undo",
        web(lambda w: _mpi(w, MPI_UNMERGE, 302, seen=403)),
        body=lambda c: {"reason": "Different children: matrix."},
    ),
    "web:review_item missing": Row("GET", lambda c: f"/match-reviews/{MISSING}",
                                   web(lambda w: 404), stateless=True),
    "web:review_decide missing": Row(
        "POST", lambda c: f"/match-reviews/{MISSING}/decision", web(lambda w: 404),
        stateless=True, body=lambda c: {"decision": "reject", "notes": "Different."},
    ),
    "web:merge missing": Row("GET", lambda c: f"/merges/{MISSING}", web(lambda w: 404),
                             stateless=True),
    "web:merge_undo missing": Row("POST", lambda c: f"/merges/{MISSING}/undo",
                                  web(lambda w: 404), stateless=True,
                                  body=lambda c: {"reason": "Different."}),
    "web:alert missing": Row("GET", lambda c: f"/alerts/{MISSING}", web(lambda w: 404),
                             stateless=True),
    "web:alert_assign missing": Row("POST", lambda c: f"/alerts/{MISSING}/assign",
                                    web(lambda w: 404), stateless=True, body=lambda c: {}),
    "web:alert_acknowledge missing": Row(
        "POST", lambda c: f"/alerts/{MISSING}/acknowledge", web(lambda w: 404), stateless=True,
        body=lambda c: {"information_shared": INFO},
    ),
}


def _url_keys(patterns: list[Any], namespace: str = "") -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _url_keys(p.url_patterns, ns)
        elif isinstance(p, URLPattern):
            yield f"{namespace}{p.name}" if p.name else str(p.pattern)


def test_every_url_has_a_row() -> None:
    urls = set(_url_keys(get_resolver().url_patterns))
    rows = {key.split(" ")[0] for key in ROWS}
    assert urls - rows == set(), "URLs with no row in the access matrix: add them"
    assert rows - urls == set(), "rows for URLs that no longer exist"
    # Every URL the contract names is there (notes/url-contract.md).
    contract = {"web:home", "web:login", "web:logout", "web:search", "web:person",
                "web:break_glass", "web:person_viewers", "web:queue", "web:alert",
                "web:alert_acknowledge", "web:notifications", "api:events", "api:schema",
                "healthz"}
    assert contract - urls == set(), "contract URLs not built yet"


def test_the_role_table_covers_every_role() -> None:
    assert set(ROLES) == set(Role.values)


# --- Running the matrix --------------------------------------------------------------------


def _child(borough: Borough, index: int) -> Person:
    """A child known only to Nottinghamshire Police (no user works there): no relationships."""
    notts = borough.system_for("notts-police")
    result = event_submit(actor=notts, payload={
        "type": "person.registered", "occurred_at": "2025-03-01T09:00:00+00:00",
        "source": {"agency": "notts-police", "record": f"REG-{index}"},
        "subject": {"given_name": f"Matrix{chr(65 + index)}", "family_name": "Testchild",
                    "date_of_birth": "2012-03-04"},
        "data": {},
    }).result
    assert result["person_created"]
    return Person.objects.get(chronology__pk=result["event"])


def _context(borough: Borough, index: int, user: User) -> Ctx:
    """The actor's own child, with an alert about it routed to the actor's team (MASH for
    users without one), as the rules engine would route one."""
    person = _child(borough, index)
    team = user.team or borough.teams["mash"]
    event = Event.objects.get(person=person)
    alert = Alert.objects.create(rule_id="golden-hour", person=person, event=event, team=team,
                                 route=team.kind, severity="red", summary="Matrix alert",
                                 raised_at=NOW - timedelta(minutes=30))
    agency = user.agency.code if user.agency else ""
    return Ctx(person=person, alert=alert, role=user.role, agency=agency)


def _relate(state: str, user: User, ctx: Ctx, borough: Borough) -> None:
    person = ctx.person
    acts = ROLES[user.role][0]
    if state == "allocated_worker":
        allocation_create(actor=None, person=person, worker=user)
    elif state == "team_on_case" and user.team is not None:
        with transaction.atomic():
            relationship_grant(person=person, team=user.team, reason=GrantReason.TEAM_CASE,
                               source="matrix")
    elif state == "agency_supplied_event":
        assert user.agency is not None
        code = user.agency.code
        event_submit(actor=borough.system_for(code), payload={
            "type": "person.registered", "occurred_at": "2025-03-02T09:00:00+00:00",
            "source": {"agency": code, "record": f"SUP-{person.pk}"},
            "subject": {"given_name": person.given_name, "family_name": person.family_name,
                        "date_of_birth": "2012-03-04"},
            "data": {},
        })
    elif state in ("break_glass_open", "break_glass_expired") and BG in acts:
        opened = NOW - (timedelta(minutes=5) if state == "break_glass_open" else timedelta(hours=3))
        with clock.frozen_at(opened):
            break_glass_open(actor=user, person_id=person.pk, reason=REASON)


def _request(client: Client, row: Row, ctx: Ctx, token: str | None) -> Any:
    path = row.path(ctx)
    if row.method == "GET":
        return client.get(path)
    if row.method == "OPTIONS":
        return client.options(path, **({"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}))
    body = row.body(ctx) if row.body else {}
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    with transaction.atomic():  # a POST's effects are undone before the next cell
        if path.startswith("/api/"):
            response = client.post(path, data=json.dumps(body), content_type="application/json",
                                   **headers)
        else:
            response = client.post(path, data=body)
        transaction.set_rollback(True)
    return response


def _check(client: Client, key: str, row: Row, ctx: Ctx, who: Who, token: str | None,
           failures: list[str]) -> None:
    response = _request(client, row, ctx, token)
    expected = row.expected(who)
    allowed = expected if isinstance(expected, set) else {expected}
    cell = f"{key:32} {who.role or 'anonymous':26}"
    if response.status_code not in allowed:
        failures.append(f"{cell} got {response.status_code}, expected {sorted(allowed)}")
        return
    if (response.status_code == 302 and not who.signed_in and key.startswith("web:")
            and key != "web:login" and not response["Location"].startswith(LOGIN)):
        failures.append(f"{cell} redirected to {response['Location']}, not sign-in")
    if row.shows and response.status_code == 200:
        text, should = row.shows
        shown = text(ctx) in response.content.decode()
        if shown != should(who):
            failures.append(f"{cell} lists the child/alert: {shown}, expected {should(who)}")


def _sign_in(client: Client, user: User, borough: Borough) -> str | None:
    """Agency systems use their token (the API's door); everyone else a session."""
    client.logout()
    if user.role == Role.AGENCY_SYSTEM:
        client.force_login(user)  # web pages for a system account follow the same rules
        return borough.tokens[user.agency.code]  # type: ignore[union-attr]
    client.force_login(user)
    return None


def _run(borough: Borough, client: Client, states: list[str] | None, stateless: bool
         ) -> list[str]:
    failures: list[str] = []
    with clock.frozen_at(NOW):
        for index, role in enumerate(ROLES):
            user = borough.users[role]
            ctx = _context(borough, index, user)
            acts, team, agency_role = ROLES[role]
            for state in states or ["none"]:
                _relate(state, user, ctx, borough)
                who = Who(role, frozenset(acts), STATES[state](acts, team, agency_role), team)
                token = _sign_in(client, user, borough)
                for key, row in ROWS.items():
                    if row.stateless != stateless:
                        continue
                    _check(client, key, row, ctx, who, token, failures)
                    if key == "web:logout":
                        token = _sign_in(client, user, borough)
    return failures


@pytest.mark.parametrize("state", list(STATES))
def test_matrix_by_relationship(borough: Borough, client: Client, state: str) -> None:
    failures = _run(borough, client, [state], stateless=False)
    assert failures == [], "\n" + "\n".join(failures)


def test_matrix_rows_that_do_not_depend_on_the_relationship(borough: Borough,
                                                             client: Client) -> None:
    failures = _run(borough, client, None, stateless=True)
    assert failures == [], "\n" + "\n".join(failures)


def test_matrix_anonymous(borough: Borough, client: Client) -> None:
    failures: list[str] = []
    with clock.frozen_at(NOW):
        ctx = _context(borough, 0, borough.users[Role.AGENCY_SYSTEM])
        for key, row in ROWS.items():
            _check(client, key, row, ctx, Who(None), None, failures)
    assert failures == [], "\n" + "\n".join(failures)
