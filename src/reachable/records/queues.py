"""Reads behind the alert queues, an alert's evidence and the rules page.

Queues are lists of children with what happened to them, so they are scoped by the alert
policy and audited like any other read of child records. The rules page shows only counts per
rule (no child), so it is not audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q

from reachable.audit.services import audit_append
from reachable.childstate.models import ChildFlag
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.organisations.models import Team, User
from reachable.rules.models import Alert, AlertStatus, Clock, ClockStatus
from reachable.rules.policies import AlertPolicy
from reachable.rules.registry import Rule, all_rules

QUEUE_LIMIT = 500
STATUSES = ("open", "acknowledged", "all")
SEVERITIES = ("red", "amber", "info")


@dataclass(frozen=True)
class AlertFilters:
    """The MOJ filter panel's choices; unknown values are ignored, not errors."""

    status: str = "open"
    severities: frozenset[str] = frozenset()
    rule: str = ""
    overdue: bool = False

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> AlertFilters:
        status = (query.get("status") or ["open"])[-1]
        rule_ids = {r.id for r in all_rules()}
        rule = (query.get("rule") or [""])[-1]
        return cls(
            status=status if status in STATUSES else "open",
            severities=frozenset(s for s in query.get("severity", []) if s in SEVERITIES),
            rule=rule if rule in rule_ids else "",
            overdue=(query.get("overdue") or [""])[-1] == "yes",
        )

    @property
    def active(self) -> list[tuple[str, str]]:
        """(what, label) for each chosen filter, for the 'selected filters' tags."""
        chosen = []
        if self.status != "open":
            chosen.append(("status", "All" if self.status == "all" else "Acknowledged"))
        chosen += [("severity", s.capitalize()) for s in sorted(self.severities)]
        if self.rule:
            chosen.append(("rule", self.rule))
        if self.overdue:
            chosen.append(("overdue", "Overdue only"))
        return chosen


def alert_queue(*, actor: User, mine: bool = False,
                filters: AlertFilters | None = None) -> list[Alert]:
    """The alerts for the actor's team(s), or only those assigned to the actor (``mine``)."""
    filters = filters or AlertFilters()
    alerts = AlertPolicy.visible_alerts(actor).select_related("person", "event", "team",
                                                              "assignee")
    if mine:
        alerts = alerts.filter(assignee=actor)
    if filters.status == "open":
        alerts = alerts.filter(status=AlertStatus.OPEN)
    elif filters.status == "acknowledged":
        alerts = alerts.filter(status=AlertStatus.ACKNOWLEDGED)
    if filters.severities:
        alerts = alerts.filter(severity__in=filters.severities)
    if filters.rule:
        alerts = alerts.filter(rule_id=filters.rule)
    if filters.overdue:
        alerts = alerts.filter(Q(clocks__status=ClockStatus.BREACHED) | Q(
            clocks__status=ClockStatus.OPEN, clocks__deadline__lte=clock.now())).distinct()
    result = list(alerts.prefetch_related("clocks").order_by("raised_at", "id")[:QUEUE_LIMIT])
    audit_append(actor=actor, action="alerts.listed", object_type="queue",
                 detail={"alerts": [a.pk for a in result], "mine": mine,
                         "filters": {"status": filters.status,
                                     "severity": sorted(filters.severities),
                                     "rule": filters.rule, "overdue": filters.overdue}})
    return result


@dataclass(frozen=True)
class Evidence:
    """Why an alert was raised: its trigger, and the state of the child the rule relied on."""

    trigger: Event
    flags: list[ChildFlag] = field(default_factory=list)
    missing_reports: list[Event] = field(default_factory=list)


def alert_evidence(alert: Alert) -> Evidence:
    """For an alert the caller has already read through ``alert_detail`` (which audits)."""
    flags = list(ChildFlag.objects.filter(person_id=alert.person_id, set_at__lte=alert.raised_at)
                 .filter(Q(cleared_at__isnull=True) | Q(cleared_at__gt=alert.event.occurred_at))
                 .select_related("set_by__source_agency").order_by("set_at", "id"))
    missing = list(Event.objects.filter(
        person_id=alert.person_id, type="missing.reported",
        occurred_at__gt=alert.event.occurred_at - timedelta(days=365),
        occurred_at__lte=alert.event.occurred_at,
    ).select_related("source_agency").order_by("occurred_at", "id"))
    return Evidence(trigger=alert.event, flags=flags, missing_reports=missing)


def reroute_choices(alert: Alert) -> list[Team]:
    teams = Team.objects.order_by("name")
    if alert.team_id is not None:
        teams = teams.exclude(pk=alert.team_id)
    return list(teams)


@dataclass(frozen=True)
class RuleRow:
    rule: Rule
    fired_30d: int
    clocks_breached_30d: int


def rule_catalogue(*, now: datetime | None = None) -> list[RuleRow]:
    """Every rule with how often it fired (distinct trigger and child) in the last 30 days."""
    since = (now or clock.now()) - timedelta(days=30)
    fired = dict(
        Alert.objects.filter(raised_at__gte=since).values("rule_id")
        .annotate(n=Count("event_id", distinct=True)).values_list("rule_id", "n")
    )
    clock_only = dict(
        Clock.objects.filter(started_at__gte=since, alert__isnull=True).values("rule_id")
        .annotate(n=Count("event_id", distinct=True)).values_list("rule_id", "n")
    )
    breached = dict(
        Clock.objects.filter(status=ClockStatus.BREACHED, breached_at__gte=since)
        .values("rule_id").annotate(n=Count("id")).values_list("rule_id", "n")
    )
    return [RuleRow(rule=r, fired_30d=fired.get(r.id, 0) + clock_only.get(r.id, 0),
                    clocks_breached_30d=breached.get(r.id, 0)) for r in all_rules()]
