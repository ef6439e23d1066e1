"""Evaluating rules for an accepted event, inside the intake transaction.

First the event may *meet* open clocks it closes; then every rule it triggers is checked and
its effects (alert, clock) are written. Teams receive a relationship to the child with the
alert, so the team that must act can open the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reachable.access.models import GrantReason
from reachable.access.services import relationship_grant
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.organisations.models import Team
from reachable.people.models import Person
from reachable.rules.calendar import deadline_after, escalation_point
from reachable.rules.models import Alert, Clock, ClockStatus
from reachable.rules.registry import (
    Rule,
    RuleContext,
    all_rules,
    get_rule,
    rules_triggered_by,
)


@dataclass
class Evaluation:
    alerts: list[Alert] = field(default_factory=list)
    clocks: list[Clock] = field(default_factory=list)
    met_clocks: list[Clock] = field(default_factory=list)


def team_for_route(route: str) -> Team | None:
    """The home authority's team for a route (a team kind); the first by code if several."""
    return Team.objects.filter(kind=route).order_by("code").first()


def close_clocks(*, person: Person, closing: str, at: object, alert: Alert | None = None
                 ) -> list[Clock]:
    """Mark open clocks met by ``closing`` (an event type or an acknowledgement)."""
    if not any(r.clock is not None and closing in r.clock.met_by for r in all_rules()):
        return []  # no rule's clock is met by this: nothing to look up
    candidates = Clock.objects.filter(person=person, status=ClockStatus.OPEN)
    if alert is not None:
        candidates = candidates.filter(alert=alert)
    met = []
    for clk in candidates:
        rule = get_rule(clk.rule_id)
        if rule is None or rule.clock is None or closing not in rule.clock.met_by:
            continue
        updated = Clock.objects.filter(pk=clk.pk, status=ClockStatus.OPEN).update(
            status=ClockStatus.MET, met_at=at, met_by=closing
        )
        if updated:
            clk.refresh_from_db()
            met.append(clk)
    return met


def _fire(rule: Rule, ctx: RuleContext) -> tuple[Alert | None, Clock | None]:
    event = ctx.event
    if Alert.objects.filter(rule_id=rule.id, person=ctx.person, event=event).exists():
        return None, None
    team = team_for_route(rule.route)
    alert = Alert.objects.create(
        rule_id=rule.id, person=ctx.person, event=event, team=team, route=rule.route,
        severity=rule.severity, summary=rule.summary(ctx)[:300] or rule.title,
        raised_at=ctx.now,
    )
    if team is not None:
        reason = GrantReason.MASH_SCREENING if rule.route == "mash" else GrantReason.ALERT_ROUTED
        relationship_grant(person=ctx.person, team=team, reason=reason, source=f"alert:{alert.pk}")
    clk = None
    if rule.clock is not None:
        start = event.occurred_at
        deadline = deadline_after(start, rule.clock.amount, rule.clock.unit)
        clk = Clock.objects.create(
            rule_id=rule.id, person=ctx.person, alert=alert, event=event,
            unit=rule.clock.unit.value, amount=rule.clock.amount, started_at=start,
            deadline=deadline,
            escalate_at=escalation_point(start, deadline, rule.clock.escalate_fraction),
        )
    return alert, clk


def evaluate_event(event: Event) -> Evaluation:
    result = Evaluation()
    now = clock.now()
    result.met_clocks = close_clocks(person=event.person, closing=event.type, at=event.occurred_at)
    ctx = RuleContext(event=event, person=event.person, now=now)
    for rule in rules_triggered_by(event.type):
        if not rule.condition(ctx):
            continue
        alert, clk = _fire(rule, ctx)
        if alert is not None:
            result.alerts.append(alert)
        if clk is not None:
            result.clocks.append(clk)
    return result
