"""Judging a replay: who the platform thinks each scenario person is, and whether every
expectation holds, read from the replay's database at the end (``scenarios.md``, "Report").

The scenario's people are ground truth the platform never sees. To judge it, each is matched
to a person the platform holds: by a strong identifier, else by name and date of birth
(including names other agencies used), else through the events that described them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reachable.chronology.models import Event
from reachable.people.models import Identifier, IdentifierKind, Person, parse_person_ref
from reachable.people.validators import name_key
from reachable.rules.models import Alert, Clock, ClockStatus
from reachable.scenarios.loader import IDENTIFIER_KEYS, Expectation, PersonSpec, Scenario


def _likeness(spec: PersonSpec, described: dict[str, Any]) -> int:
    """How strongly an event's description of someone points at this ground-truth person."""
    if any(spec.identifiers.get(k) and str(described.get(k) or "") == spec.identifiers[k]
           for k in IDENTIFIER_KEYS):
        return 4
    same_dob = spec.date_of_birth is not None and (
        str(described.get("date_of_birth") or "") == spec.date_of_birth.isoformat()
    )
    full = name_key(spec.given_name, spec.family_name)
    if full and name_key(described.get("given_name") or "",
                         described.get("family_name") or "") == full:
        return 3 if same_dob else 1
    family = name_key(spec.family_name)
    if same_dob and family and name_key(described.get("family_name") or "") == family:
        return 2
    return 0


def person_for(spec: PersonSpec) -> Person | None:
    """The person the platform resolved ``spec`` to, or None if it holds nobody like them."""
    for key in IDENTIFIER_KEYS:
        value = spec.identifiers.get(key)
        if not value:
            continue
        found = Identifier.objects.filter(kind=key, value=value)
        if key != IdentifierKind.LOCAL:
            found = found.filter(issuer="")
        identifier = found.select_related("person").order_by("id").first()
        if identifier is not None:
            return identifier.person
    key = name_key(spec.given_name, spec.family_name)
    if key and spec.date_of_birth is not None:
        person = (
            Person.objects.filter(name_key=key, date_of_birth=spec.date_of_birth)
            .order_by("id").first()
            or Person.objects.filter(names__name_key=key, date_of_birth=spec.date_of_birth)
            .order_by("id").first()
        )
        if person is not None:
            return person
    best, best_id = 0, None
    for event in Event.objects.order_by("occurred_at", "id"):
        described: list[tuple[dict[str, Any], int | None]] = [(event.subject, event.person_id)]
        described += [(item, parse_person_ref(str(item.get("person", ""))))
                      for item in event.related or []]
        for details, person_id in described:
            score = _likeness(spec, details)
            if score > best and person_id is not None:
                best, best_id = score, person_id
    return Person.objects.filter(pk=best_id).first() if best_id is not None else None


def people_resolve(scenario: Scenario) -> dict[str, Person | None]:
    return {ref: person_for(spec) for ref, spec in scenario.people.items()}


def duration_text(delta: timedelta) -> str:
    """``0m``, ``45m``, ``1h 5m``, ``2d 3h``: how practitioners say elapsed time."""
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if mins or not parts:
        parts.append(f"{mins}m")
    return sign + " ".join(parts)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class Judge:
    """Evaluates expectations against the replay database; ``people`` maps refs to persons."""

    def __init__(self, scenario: Scenario, people: dict[str, Person | None]):
        self.scenario = scenario
        self.people = people
        self.names = {p.pk: ref for ref, p in people.items() if p is not None}

    def who(self, person_id: int) -> str:
        return self.names.get(person_id) or f"P-{person_id:06d}"

    def evaluate(self, expectation: Expectation) -> tuple[bool, str]:
        if expectation.kind == "person_count":
            return self._person_count(expectation)
        person = self.people.get(expectation.ref)
        if person is None:
            return False, (f"the platform holds no one matching '{expectation.ref}' "
                           "(by identifier, name and date of birth, or any event's subject)")
        if expectation.kind == "alert":
            return self._alert(expectation, person)
        if expectation.kind == "no_alert":
            return self._no_alert(expectation, person)
        return self._clock(expectation, person)

    def _fired_elsewhere(self, rule: str, person: Person) -> str:
        others = sorted({self.who(pid) for pid in Alert.objects.filter(rule_id=rule)
                        .exclude(person=person).values_list("person_id", flat=True)})
        return f" (it fired for: {', '.join(others)})" if others else ""

    def _alert(self, e: Expectation, person: Person) -> tuple[bool, str]:
        alerts = list(Alert.objects.filter(rule_id=e.rule, person=person)
                      .select_related("event", "team").order_by("raised_at", "id"))
        if not alerts:
            return False, (f"{e.rule} never fired for {e.ref} ({person.ref})"
                           + self._fired_elsewhere(e.rule, person))
        failures = []
        for alert in alerts:
            delay = alert.raised_at - alert.event.occurred_at
            detail = (f"raised {duration_text(delay)} after {alert.event.type} at "
                      f"{alert.event.occurred_at.isoformat()}")
            if e.route and e.route not in (alert.route, alert.team.code if alert.team else None):
                where = alert.team.code if alert.team else "no team"
                failures.append(f"{detail}, routed to {alert.route} ({where}), not {e.route}")
                continue
            if e.within is not None and delay > e.within:
                failures.append(f"{detail}: later than {duration_text(e.within)}")
                continue
            return True, detail
        return False, "; ".join(failures)

    def _no_alert(self, e: Expectation, person: Person) -> tuple[bool, str]:
        alerts = list(Alert.objects.filter(rule_id=e.rule, person=person)
                      .select_related("event").order_by("raised_at", "id"))
        if not alerts:
            return True, f"{e.rule} never fired for {e.ref} ({person.ref})"
        first = alerts[0]
        return False, (f"{e.rule} fired {len(alerts)} time(s) for {e.ref} ({person.ref}), first "
                       f"at {first.raised_at.isoformat()} on {first.event.type}")

    def _clock(self, e: Expectation, person: Person) -> tuple[bool, str]:
        clocks = list(Clock.objects.filter(rule_id=e.rule, person=person)
                      .order_by("started_at", "id"))
        if not clocks:
            return False, (f"no {e.rule} clock ever started for {e.ref} ({person.ref})"
                           + self._fired_elsewhere(e.rule, person))
        if e.nth is not None:
            if e.nth > len(clocks):
                return False, f"only {len(clocks)} {e.rule} clock(s) for {e.ref}, no number {e.nth}"
            chosen = [(e.nth, clocks[e.nth - 1])]
        else:
            chosen = list(enumerate(clocks, start=1))
        details = []
        for number, clk in chosen:
            detail = f"clock {number} of {len(clocks)}: {self._clock_story(clk)}"
            ok = clk.status == e.status
            if ok and e.escalated is not None and (clk.escalated_at is not None) != e.escalated:
                ok = False
                detail += "; escalation expected" if e.escalated else "; escalated unexpectedly"
            if ok:
                return True, detail
            details.append(detail)
        return False, f"expected {e.status}: " + "; ".join(details)

    @staticmethod
    def _clock_story(clk: Clock) -> str:
        story = f"started {clk.started_at.isoformat()}, deadline {clk.deadline.isoformat()}"
        if clk.escalated_at is not None:
            story += f", escalated to the manager at {clk.escalated_at.isoformat()}"
        if clk.status == ClockStatus.MET:
            story += (f", met at {_iso(clk.met_at)} by {clk.met_by} "
                      f"({duration_text(clk.met_at - clk.started_at)} after start)"
                      if clk.met_at else ", met")
        elif clk.status == ClockStatus.BREACHED:
            story += f", breached at {_iso(clk.breached_at)}"
        elif clk.status == ClockStatus.STOPPED:
            story += f", stopped at {_iso(clk.stopped_at)} by {clk.stopped_by}"
        elif clk.status == ClockStatus.PAUSED:
            story += f", paused at {_iso(clk.paused_at)}"
        else:
            story += ", still running"
        return story

    def _person_count(self, e: Expectation) -> tuple[bool, str]:
        people = list(Person.objects.order_by("id"))
        listing = ", ".join(f"{p.ref} {p.full_name}" + (f" = {self.names[p.pk]}"
                                                         if p.pk in self.names else "")
                            for p in people[:20])
        more = f" and {len(people) - 20} more" if len(people) > 20 else ""
        noun = "person" if len(people) == 1 else "people"
        return len(people) == e.count, f"{len(people)} {noun} held: {listing}{more}"

    def unexpected_alerts(self) -> list[dict[str, Any]]:
        named = set()
        for e in self.scenario.expectations:
            person = self.people.get(e.ref) if e.rule and e.ref else None
            if person is not None:
                named.add((e.rule, person.pk))
        return [
            {"rule": a.rule_id, "for": self.who(a.person_id), "at": a.raised_at.isoformat()}
            for a in Alert.objects.order_by("raised_at", "id")
            if (a.rule_id, a.person_id) not in named
        ]


def report_build(scenario: Scenario, action_failures: list[dict[str, Any]]) -> dict[str, Any]:
    """The scenario's report (one JSON object on stdout), read from the replay database."""
    people = people_resolve(scenario)
    judge = Judge(scenario, people)
    expectations = []
    for e in scenario.expectations:
        met, detail = judge.evaluate(e)
        expectations.append({"expect": e.written, "met": met, "detail": detail})
    expectations += action_failures
    statuses = {status: Clock.objects.filter(status=status).count()
                for status in (ClockStatus.MET, ClockStatus.BREACHED, ClockStatus.OPEN)}
    for extra in (ClockStatus.PAUSED, ClockStatus.STOPPED):  # shown only when they happened
        if count := Clock.objects.filter(status=extra).count():
            statuses[extra] = count
    return {
        "scenario": scenario.name,
        "passed": all(item["met"] for item in expectations),
        "expectations": expectations,
        "unexpected_alerts": judge.unexpected_alerts(),
        "people": {ref: (p.ref if p is not None else None) for ref, p in people.items()},
        "events": len(scenario.steps),
        "alerts": Alert.objects.count(),
        "clocks": {str(k): v for k, v in statuses.items()},
    }
