"""Evaluating rules for an accepted event, inside the intake transaction.

In order: the event updates the child's derived state (``childstate``); it meets, stops,
pauses or resumes the open clocks it closes; then every rule it triggers is checked against
the people it is about and its effects (alert or prompt per route, agenda item, clocks) are
written. Teams receive a relationship to the child with the alert, so the team that must act
can open the record. Duplicate suppression is a unique constraint: the same rule for the same
child, trigger and route never alerts twice, even when two processes race.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from reachable.access.models import GrantReason
from reachable.access.services import relationship_grant
from reachable.childstate.state import state_apply
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.held import row_change, row_create, row_written
from reachable.organisations.models import Team, TeamKind, User
from reachable.people.models import Person
from reachable.rules.allocations import allocated_worker, case_team
from reachable.rules.calendar import ClockUnit, deadline_after, escalation_point
from reachable.rules.live_clocks import LIVE, clock_started, live_clocks
from reachable.rules.models import (
    AgendaItem,
    Alert,
    AlertKind,
    AlertStatus,
    Clock,
    ClockStatus,
)
from reachable.rules.registry import (
    ClockSpec,
    ClockStart,
    Effect,
    Rule,
    RuleContext,
    clock_event_types,
    get_rule,
    rules_triggered_by,
)

# Routes that are roles rather than team kinds, and the team kind that holds them when the
# child has nobody in that role.
ROLE_ROUTES = {"allocated_worker", "csc_manager", "service_manager", "requested_agency",
               "action_owner"}
ROUTE_TEAM_KIND = {
    "cp_chairs": TeamKind.IRO,  # conference chairs sit in the IRO / safeguarding unit
    "iro_manager": TeamKind.IRO,
    "admissions": TeamKind.EDUCATION,
    "lac_nurse": TeamKind.HEALTH,
    "placement_team": TeamKind.SOCIAL_WORK,
}


def route_team_kind(route: str) -> str:
    """The team kind whose queue receives a route's alerts when nobody more specific can."""
    if route in ("allocated_worker", "csc_manager", "service_manager"):
        return TeamKind.SOCIAL_WORK
    if route == "requested_agency":
        return TeamKind.MASH
    if route == "action_owner":
        return TeamKind.EXPLOITATION
    return ROUTE_TEAM_KIND.get(route, route)


@dataclass
class Evaluation:
    alerts: list[Alert] = field(default_factory=list)
    clocks: list[Clock] = field(default_factory=list)
    met_clocks: list[Clock] = field(default_factory=list)
    changed_clocks: list[Clock] = field(default_factory=list)
    agenda: list[AgendaItem] = field(default_factory=list)
    state_changes: list[str] = field(default_factory=list)
    # Whether the event was created in this transaction. Then nothing but this evaluation can
    # have raised an alert or started a clock for it, and duplicate suppression is the two sets
    # below (no query, no savepoint per effect); otherwise the database is asked.
    new_event: bool = False
    raised: set[tuple[str, int, str, str]] = field(default_factory=set)
    started: set[tuple[str, int, str]] = field(default_factory=set)


@dataclass(frozen=True)
class Destination:
    team: Team | None
    assignee: User | None = None


_team_cache: ContextVar[dict[tuple[str, str], Team | None] | None] = ContextVar(
    "rules_team_cache", default=None)


@contextmanager
def team_lookups_cached() -> Iterator[None]:
    """Within the block (one transaction of many events: a batch, a replay), each team is
    looked up once, not once per alert. Teams are configuration, not written by intake."""
    token = _team_cache.set({})
    try:
        yield
    finally:
        _team_cache.reset(token)


def _cached_team(key: tuple[str, str], find: Callable[[], Team | None]) -> Team | None:
    cache = _team_cache.get()
    if cache is None:
        return find()
    if key not in cache:
        cache[key] = find()
    return cache[key]


def team_for_route(route: str) -> Team | None:
    """The home authority's team for a route (a team kind); the first by code if several."""
    kind = route_team_kind(route)
    return _cached_team(("kind", kind), lambda: Team.objects.filter(kind=kind)
                        .select_related("manager").order_by("code").first())


def _team_by_code(code: str) -> Team | None:
    """A team by its code, else the first team of the agency with that code."""
    def find() -> Team | None:
        team = Team.objects.filter(code=code).select_related("manager").first()
        if team is None:
            team = (Team.objects.filter(agency__code=code).select_related("manager")
                    .order_by("code").first())
        return team
    return _cached_team(("code", code), find)


def route_destinations(route: str, ctx: RuleContext, key_data: dict[str, str]
                       ) -> Destination:
    """Where an alert on ``route`` goes: a team queue, and a person's queue where there is one.

    Role routes fall back to a team so nothing is routed to nobody: the allocated worker's
    alert goes to the child's case team, or to the social work team, or to the MASH.
    """
    person = ctx.person
    if route == "allocated_worker":
        worker = allocated_worker(person)
        if worker is not None:
            return Destination(worker.team or case_team(person), worker)
        return Destination(case_team(person) or team_for_route(TeamKind.SOCIAL_WORK)
                           or team_for_route(TeamKind.MASH))
    if route in ("csc_manager", "service_manager"):
        worker = allocated_worker(person)
        team = (worker.team if worker is not None and worker.team else None) or \
            case_team(person) or team_for_route(TeamKind.SOCIAL_WORK)
        return Destination(team, team.manager if team is not None else None)
    if route == "iro_manager":
        team = team_for_route(route)
        return Destination(team, team.manager if team is not None else None)
    if route in ("requested_agency", "action_owner"):
        code = key_data.get("owner") or str(ctx.data.get("to_agency") or "")
        team = _team_by_code(code) if code else None
        fallback = TeamKind.MASH if route == "requested_agency" else TeamKind.EXPLOITATION
        return Destination(team or team_for_route(fallback))
    return Destination(team_for_route(route))


def _closing_matches(spec: ClockSpec, clk: Clock, event: Event) -> bool:
    """A clock keyed by e.g. a request id is closed only by the event about that request."""
    if spec.match_key is not None and clk.key:
        return spec.match_key(event) == clk.key
    if not (spec.match and clk.key):
        return True
    return str((event.data or {}).get(spec.match) or "") == clk.key


def _live_clocks(person: Person, alert: Alert | None = None) -> list[Clock]:
    """The person's open and paused clocks (of one alert, if given)."""
    if alert is None:
        return live_clocks(person.pk)
    return list(Clock.objects.filter(person=person, alert=alert, status__in=LIVE))


def close_clocks(*, person: Person, closing: str, at: datetime, alert: Alert | None = None,
                 event: Event | None = None, live: list[Clock] | None = None) -> list[Clock]:
    """Mark open (or paused) clocks met by ``closing`` (an event type or an acknowledgement).

    ``live`` is the person's open and paused clocks when the caller has them already.
    """
    met = []
    for clk in live if live is not None else _live_clocks(person, alert):
        rule = get_rule(clk.rule_id)
        spec = rule.effective_clock() if rule is not None else None
        if spec is None or closing not in spec.met_by:
            continue
        if event is not None and not _closing_matches(spec, clk, event):
            continue
        if event is not None and spec.met_if is not None and not spec.met_if(event):
            continue
        if _clock_change(clk, LIVE,
                         {"status": ClockStatus.MET, "met_at": at, "met_by": closing}):
            met.append(clk)
            if event is not None and clk.alert_id is not None:
                _settle_alert(clk, event)
    return met


def _settle_alert(clk: Clock, event: Event) -> None:
    """An alert whose work an agency's event has done leaves the queue (no one acknowledged
    it; the event did). Alerts with other clocks still running stay."""
    alert_id = clk.alert_id
    assert alert_id is not None
    # An alert's clocks are its child's (started together by one firing, moved together by a
    # merge), so the child's live clocks are all that can keep it open.
    if any(other.alert_id == alert_id for other in live_clocks(clk.person_id)):
        return
    values = {"status": AlertStatus.ACKNOWLEDGED, "acknowledged_at": event.occurred_at,
              "outcome": f"Met by {event.type} from {event.source_agency.code}"}
    alert = clk.alert if Clock.alert.is_cached(clk) else None
    if alert is not None and not row_written(alert):  # raised in this batch, still held
        if alert.status == AlertStatus.OPEN:
            for name, value in values.items():
                setattr(alert, name, value)
        return
    # Left as it is if someone acknowledged it meanwhile: not a change this event must make.
    row_change(Alert, alert_id, values, where={"status": (AlertStatus.OPEN,)},
               must_change=False)


def _clock_change(clk: Clock, expected: tuple[ClockStatus, ...], values: dict[str, object]
                  ) -> bool:
    """Change a clock that is in one of the ``expected`` states; False if it no longer is.

    A clock started in this batch and still held (``core.held``) is changed in memory and
    inserted as it now is. Any other is changed by a conditional UPDATE of its row
    (``core.held.row_change``), so a clock another transaction changed meanwhile is left as
    that transaction left it. In a batch that UPDATE is held and written with the batch's
    others; should it then find the clock already changed, the batch is replayed event by
    event, where this answer comes from the UPDATE itself.
    """
    if row_written(clk):
        if not row_change(Clock, clk.pk, values, where={"status": expected}):
            return False
    elif clk.status not in expected:
        return False
    for name, value in values.items():
        setattr(clk, name, value)
    return True


def _transition_clocks(event: Event, live: list[Clock]) -> list[Clock]:
    """Stop, pause or resume those of the person's live clocks that this event affects.

    Each change is made by ``_clock_change``, so a clock another transaction changed meanwhile
    is left as that transaction left it; the in-memory clock is updated to match.
    """
    changed = []
    for clk in live:
        if clk.status not in LIVE:
            continue  # met by this same event a moment ago
        rule = get_rule(clk.rule_id)
        spec = rule.effective_clock() if rule is not None else None
        if spec is None or not _closing_matches(spec, clk, event):
            continue
        at = event.occurred_at
        values: dict[str, object]
        expected: tuple[ClockStatus, ...]
        if event.type in spec.stopped_by and (spec.stop_if is None or spec.stop_if(event)):
            expected = LIVE
            values = {"status": ClockStatus.STOPPED, "stopped_at": at,
                      "stopped_by": event.type}
        elif event.type in spec.paused_by and clk.status == ClockStatus.OPEN:
            expected = (ClockStatus.OPEN,)
            values = {"status": ClockStatus.PAUSED, "paused_at": at,
                      "remaining_seconds": max((clk.deadline - at).total_seconds(), 0.0)}
        elif event.type in spec.resumed_by and clk.status == ClockStatus.PAUSED:
            expected = (ClockStatus.PAUSED,)
            remaining = timedelta(seconds=clk.remaining_seconds or 0.0)
            deadline = at + remaining
            values = {"status": ClockStatus.OPEN, "paused_at": None, "remaining_seconds": None,
                      "deadline": deadline,
                      "escalate_at": max(at, deadline - remaining
                                         * (1 - spec.escalate_fraction))}
        else:
            continue
        if _clock_change(clk, expected, values):
            changed.append(clk)
    return changed


def _grant_route(person: Person, dest: Destination, route: str, alert: Alert) -> None:
    if dest.team is not None:
        reason = GrantReason.MASH_SCREENING if route == "mash" else GrantReason.ALERT_ROUTED
        relationship_grant(person=person, team=dest.team, reason=reason,
                           source=f"alert:{alert.pk}")


def _create_alert(rule: Rule, ctx: RuleContext, route: str, *, kind: str, key: str = "",
                  summary: str = "", key_data: dict[str, str] | None = None,
                  fresh: Evaluation | None = None) -> Alert | None:
    """Raise one alert; None if this rule already alerted this route for this trigger.

    When ``fresh`` is the evaluation of an event created in this transaction, what it raised is
    all that can exist for the event, so the check is in memory and the insert needs no
    savepoint. Otherwise (a re-evaluation; the sweep's breach alerts) the database is asked,
    and the unique constraint settles a race with a concurrent evaluation.
    """
    unique = (rule.id, ctx.person.pk, route, key)
    if fresh is not None and fresh.new_event:
        if unique in fresh.raised:
            return None
        fresh.raised.add(unique)
    elif Alert.objects.filter(rule_id=rule.id, person=ctx.person, event=ctx.event,
                              route=route, key=key).exists():
        return None
    dest = route_destinations(route, ctx, key_data or {})
    fields = {
        "rule_id": rule.id, "person": ctx.person, "event": ctx.event, "team": dest.team,
        "assignee": dest.assignee, "route": route, "kind": kind, "key": key,
        "severity": "info" if kind == AlertKind.PROMPT else rule.severity,
        "summary": (summary or rule.summary(ctx) or rule.title)[:300], "raised_at": ctx.now,
    }
    if fresh is not None and fresh.new_event:
        alert = row_create(Alert, **fields)  # held to the batch's end, if in one
    else:
        try:
            with transaction.atomic():
                alert = Alert.objects.create(**fields)
        except IntegrityError:  # a concurrent evaluation raised it first
            return None
    _grant_route(ctx.person, dest, route, alert)
    return alert


def _start_clocks(rule: Rule, spec: ClockSpec, ctx: RuleContext, alert: Alert | None,
                  fresh: Evaluation) -> list[Clock]:
    """Start the rule's clocks; never the same clock twice for the same trigger."""
    starts = spec.starts(ctx) if spec.starts is not None else [ClockStart()]
    clocks = []
    for start_spec in starts:
        start = start_spec.start or ctx.event.occurred_at
        amount = start_spec.amount if start_spec.amount is not None else spec.amount
        unit = start_spec.unit or spec.unit
        deadline = start_spec.deadline or deadline_after(start, amount, unit)
        key = start_spec.key or (str(ctx.data.get(spec.match) or "") if spec.match else "")
        unique = (rule.id, ctx.person.pk, key)
        if unique in fresh.started or (not fresh.new_event and Clock.objects.filter(
                rule_id=rule.id, person=ctx.person, event=ctx.event, key=key).exists()):
            continue
        fresh.started.add(unique)
        clk = row_create(  # held to the batch's end, if in one
            Clock, rule_id=rule.id, person=ctx.person, alert=alert, event=ctx.event, key=key,
            label=start_spec.label[:200], owner=start_spec.owner[:100],
            unit=ClockUnit(unit).value, amount=amount,
            started_at=start, deadline=deadline,
            escalate_at=escalation_point(start, deadline, spec.escalate_fraction, unit),
        )
        clock_started(clk)
        clocks.append(clk)
    return clocks


def _fire(rule: Rule, ctx: RuleContext, result: Evaluation) -> None:
    lead: Alert | None = None
    kind = AlertKind.PROMPT if Effect.PROMPT in rule.effects else AlertKind.ALERT
    spec = rule.effective_clock()
    breach_only = spec is not None and spec.alert_on_breach
    if rule.raises_alert and not breach_only:
        for route in rule.routes:
            alert = _create_alert(rule, ctx, route, kind=kind, fresh=result)
            if alert is not None:
                result.alerts.append(alert)
                lead = lead or alert
    if Effect.AGENDA in rule.effects:
        if lead is None and not rule.raises_alert:
            # The panel's team is told the child is on its agenda (and may open the record).
            lead = _create_alert(rule, ctx, rule.route, kind=AlertKind.AGENDA, fresh=result)
            if lead is not None:
                result.alerts.append(lead)
        if not AgendaItem.objects.filter(meeting=rule.agenda, person=ctx.person,
                                         discussed_at__isnull=True).exists():
            try:
                with transaction.atomic():
                    result.agenda.append(AgendaItem.objects.create(
                        meeting=rule.agenda, person=ctx.person, rule_id=rule.id, alert=lead,
                        event=ctx.event, reason=(rule.summary(ctx) or rule.title)[:300],
                        added_at=ctx.now))
            except IntegrityError:
                pass  # already on the agenda
    if spec is not None:
        result.clocks.extend(_start_clocks(rule, spec, ctx, lead, result))


def _discuss_agenda(event: Event) -> None:
    meeting = {"mace.discussed": "mace", "strategy_discussion.held": "strategy"}.get(event.type)
    if meeting is None:
        return
    AgendaItem.objects.filter(meeting=meeting, person=event.person,
                              discussed_at__isnull=True).update(
        discussed_at=event.occurred_at, discussed_event=event)


def evaluate_event(event: Event, *, new_event: bool = False) -> Evaluation:
    """Apply an accepted event: derived state, clocks it closes, rules it triggers.

    Intake passes ``new_event=True`` for the event it has just appended in this transaction:
    duplicate suppression of its alerts and clocks is then done in memory. Re-evaluating an
    older event is safe too (it asks the database, and alerts nothing twice).
    """
    result = Evaluation(new_event=new_event)
    now = clock.now()
    result.state_changes = state_apply(event)
    if event.type in clock_event_types():
        live = _live_clocks(event.person)
        result.met_clocks = close_clocks(person=event.person, closing=event.type,
                                         at=event.occurred_at, event=event, live=live)
        result.changed_clocks = _transition_clocks(event, live)
    _discuss_agenda(event)
    # One context per person, shared by every rule: the child's state (read after
    # ``state_apply``) and the event's related people are loaded once per evaluation.
    contexts: dict[int, RuleContext] = {}

    def context_for(person: Person) -> RuleContext:
        if person.pk not in contexts:
            contexts[person.pk] = RuleContext(event=event, person=person, now=now)
        return contexts[person.pk]

    for rule in rules_triggered_by(event.type):
        base = context_for(event.person)
        people = rule.about(base) if rule.about is not None else [event.person]
        for person in people:
            ctx = context_for(person)
            if rule.condition(ctx):
                _fire(rule, ctx, result)
    return result


def breach_alert(clk: Clock) -> list[Alert]:
    """Raise the alerts of a rule whose alert comes when its clock breaches (the sweep)."""
    rule = get_rule(clk.rule_id)
    spec = rule.effective_clock() if rule is not None else None
    if rule is None or spec is None or not spec.alert_on_breach:
        return []
    ctx = RuleContext(event=clk.event, person=clk.person, now=clock.now())
    key_data = {"owner": clk.owner} if clk.owner else {}
    raised = []
    for route in rule.routes:
        alert = _create_alert(rule, ctx, route, kind=AlertKind.ALERT, key=clk.key,
                              summary=f"Overdue: {clk.label}" if clk.label else "",
                              key_data=key_data)
        if alert is not None:
            raised.append(alert)
    return raised
