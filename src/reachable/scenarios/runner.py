"""Running scenarios: a fresh database per story, simulated time, and the production door.

Every event goes through ``intake.services.event_submit`` as the agency's own system user (so
identity resolution sees the subject exactly as the agency recorded it), and practitioner
actions go through the same services as the web pages. Between steps simulated time jumps
from one clock transition to the next and runs the sweep there, as the scheduled sweep would
in real time; a sweep also runs after every step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.test.utils import override_settings

from reachable.core import clock
from reachable.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from reachable.core.scratch_db import scratch_database
from reachable.intake.services import event_submit
from reachable.organisations.models import Agency, AgencyKind, Role, Team, TeamKind, User
from reachable.organisations.services import agency_create, team_create, user_create
from reachable.rules.models import Alert, AlertStatus
from reachable.rules.services import alert_acknowledge
from reachable.rules.sweep import clocks_sweep, next_clock_transition
from reachable.scenarios.loader import (
    AgencySpec,
    Problem,
    Scenario,
    ScenarioInvalid,
    Step,
    load_scenario,
)
from reachable.scenarios.report import person_for, report_build

# team kind -> (practitioner role, manager role)
TEAM_ROLES: dict[str, tuple[str, str]] = {
    TeamKind.MASH: (Role.MASH_PRACTITIONER, Role.MASH_MANAGER),
    TeamKind.SOCIAL_WORK: (Role.SOCIAL_WORKER, Role.TEAM_MANAGER),
    TeamKind.IRO: (Role.IRO, Role.TEAM_MANAGER),
    TeamKind.EXPLOITATION: (Role.EXPLOITATION_COORDINATOR, Role.TEAM_MANAGER),
    TeamKind.MISSING: (Role.SOCIAL_WORKER, Role.TEAM_MANAGER),
    TeamKind.EHE: (Role.EDUCATION_LIAISON, Role.EDUCATION_LIAISON),
    TeamKind.EDUCATION: (Role.EDUCATION_LIAISON, Role.EDUCATION_LIAISON),
    TeamKind.HOUSING_LIAISON: (Role.HOUSING_LIAISON, Role.HOUSING_LIAISON),
    TeamKind.GP_LIAISON: (Role.HEALTH_LIAISON, Role.HEALTH_LIAISON),
    TeamKind.HEALTH: (Role.HEALTH_LIAISON, Role.HEALTH_LIAISON),
    TeamKind.POLICE: (Role.POLICE_LIAISON, Role.POLICE_LIAISON),
}
DEFAULT_TEAM_ROLES = (Role.SOCIAL_WORKER, Role.TEAM_MANAGER)


class Writer(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


@dataclass
class Organisation:
    """The replay's area: agencies with their system users, teams with a practitioner each."""

    agencies: dict[str, Agency] = field(default_factory=dict)
    systems: dict[str, User] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    practitioners: dict[str, User] = field(default_factory=dict)


def _agency(org: Organisation, spec: AgencySpec) -> Agency:
    agency = agency_create(actor=None, code=spec.code, name=f"{spec.code} (scenario)",
                           kind=spec.kind, police_force=spec.police_force)
    org.agencies[spec.code] = agency
    org.systems[spec.code] = user_create(
        actor=None, username=f"{spec.code}-system", password=None, role=Role.AGENCY_SYSTEM,
        agency=agency,
    )
    return agency


def organisation_build(scenario: Scenario) -> Organisation:
    """Create what the file's agency and team codes need, through the production services."""
    org = Organisation()
    for spec in scenario.agencies.values():
        _agency(org, spec)
    home = next((a for a in org.agencies.values() if a.kind == AgencyKind.CSC), None)
    if home is None:
        code = "local-authority"
        while code in org.agencies:
            code += "-home"
        home = _agency(org, AgencySpec(code, AgencyKind.CSC))
    home_police = next((a for a in org.agencies.values() if a.kind == AgencyKind.POLICE
                        and a.police_force == settings.REACHABLE_HOME_POLICE_FORCE), None)
    for code, kind in sorted(scenario.teams.items()):
        agency = home_police if kind == TeamKind.POLICE and home_police is not None else home
        team = team_create(actor=None, code=code, name=f"{code} (scenario)", kind=kind,
                           agency=agency)
        org.teams[code] = team
        practitioner_role, manager_role = TEAM_ROLES.get(kind, DEFAULT_TEAM_ROLES)
        org.practitioners[code] = user_create(
            actor=None, username=f"{code}-practitioner", password=None, role=practitioner_role,
            agency=agency, team=team, first_name="Scenario", last_name="Practitioner",
        )
        user_create(actor=None, username=f"{code}-manager", password=None, role=manager_role,
                    agency=agency, team=team, manages_team=True, first_name="Scenario",
                    last_name="Manager")
    return org


def _sweep_until(after: datetime, until: datetime, *, inclusive: bool) -> None:
    """Run the sweep at every clock transition after ``after`` and before (or at) ``until``."""
    moment = next_clock_transition(after)
    while moment is not None and (moment < until or (inclusive and moment == until)):
        with clock.frozen_at(moment):
            clocks_sweep(now=moment)
        moment = next_clock_transition(moment)


def _submit(org: Organisation, step: Step, scenario: Scenario) -> None:
    assert step.payload is not None
    actor = org.systems[step.payload["source"]["agency"]]
    try:
        event_submit(actor=actor, payload=step.payload)
    except ValidationFailed as exc:
        problems = [Problem(step.line, f"events[{step.index}]" + (f".{k}" if k else ""),
                            "refused by intake: " + " ".join(str(m) for m in msgs))
                    for k, msgs in exc.errors.items()]
        raise ScenarioInvalid(scenario.file, problems) from exc
    except PermissionDenied as exc:
        raise ScenarioInvalid(scenario.file, [Problem(step.line, f"events[{step.index}]",
                                                      f"refused by intake: {exc}")]) from exc


def _acknowledge(org: Organisation, step: Step, scenario: Scenario) -> str | None:
    """Perform an ``ack``; returns why it could not be done, or None."""
    person = person_for(scenario.people[step.ref])
    if person is None:
        return f"the platform holds no one matching '{step.ref}' yet"
    # The acknowledging team's own alert first (a rule with two routes raises one per team),
    # else the newest open one, which the team may still be able to see.
    open_alerts = Alert.objects.filter(rule_id=step.rule, person=person,
                                       status=AlertStatus.OPEN).order_by("-raised_at", "-id")
    alert = (open_alerts.filter(team=org.teams.get(step.by)).first()
             if step.by in org.teams else None) or open_alerts.first()
    if alert is None:
        return f"no open {step.rule} alert for {step.ref} ({person.ref}) to acknowledge"
    try:
        alert_acknowledge(actor=org.practitioners[step.by], alert_id=alert.pk,
                          information_shared=step.information_shared, outcome=step.outcome)
    except NotFound:
        return (f"team {step.by} cannot see the {step.rule} alert for {step.ref} "
                f"(routed to {alert.team.code if alert.team else 'no team'})")
    except DomainError as exc:
        detail = getattr(exc, "errors", None) or str(exc)
        return f"acknowledgement refused: {detail}"
    return None


@contextmanager
def _area(scenario: Scenario) -> Iterator[None]:
    overrides: dict[str, Any] = {
        "DEBUG": False,  # no query log: a replay is a batch job
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",  # nobody is emailed
    }
    if scenario.home_police_force:
        overrides["REACHABLE_HOME_POLICE_FORCE"] = scenario.home_police_force
    with override_settings(**overrides):
        yield


def scenario_run(scenario: Scenario) -> dict[str, Any]:
    """Replay one scenario in its own scratch database and return its report."""
    with ExitStack() as stack:
        stack.enter_context(scratch_database())
        stack.enter_context(_area(scenario))
        with clock.frozen_at(scenario.start):
            org = organisation_build(scenario)
        failures: list[dict[str, Any]] = []
        now = scenario.start
        for step in scenario.steps:
            _sweep_until(now, step.at, inclusive=False)
            now = step.at
            with clock.frozen_at(now):
                if step.is_action:
                    problem = _acknowledge(org, step, scenario)
                    if problem is not None:
                        failures.append({
                            "expect": {"ack": {"rule": step.rule, "for": step.ref},
                                       "by": step.by, "at": now.isoformat()},
                            "met": False, "detail": f"line {step.line}: {problem}",
                        })
                else:
                    _submit(org, step, scenario)
                clocks_sweep(now=now)
        _sweep_until(now, scenario.end, inclusive=True)
        with clock.frozen_at(scenario.end):
            clocks_sweep(now=scenario.end)
            return report_build(scenario, failures)
    raise AssertionError("unreachable")  # pragma: no cover  (ExitStack never swallows here)


def replay_files(paths: Sequence[str], *, out: Writer, err: Writer, timings: bool = False
                 ) -> int:
    """Replay the files and print one JSON report per scenario on ``out``.

    Returns the exit status: 0 all met, 1 any unmet, 2 any file invalid. Every file is checked
    before any runs, so a typo in the last file does not cost the time of the others.
    """
    scenarios: list[Scenario] = []
    invalid = False
    for path in paths:
        try:
            scenarios.append(load_scenario(path))
        except ScenarioInvalid as exc:
            err.write(exc.render() + "\n")
            invalid = True
    if invalid:
        return 2
    status = 0
    for scenario in scenarios:
        started = time.perf_counter()
        try:
            report = scenario_run(scenario)
        except ScenarioInvalid as exc:
            err.write(exc.render() + "\n")
            status = 2
            continue
        out.write(json.dumps(report, ensure_ascii=False) + "\n")
        out.flush()
        if timings:
            err.write(f"{scenario.file}: {time.perf_counter() - started:.2f} s\n")
        if not report["passed"] and status == 0:
            status = 1
    return status
