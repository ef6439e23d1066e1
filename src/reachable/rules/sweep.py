"""The sweep: escalate clocks at 75 % elapsed and mark overdue clocks breached.

Safe to run repeatedly and concurrently: every transition is a conditional UPDATE
("... WHERE status = 'open' AND escalated_at IS NULL"), so each clock changes state once, and
only the process whose update won writes the audit record and the notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from reachable.access.notifications import notification_send
from reachable.audit.services import audit_append
from reachable.core import clock
from reachable.rules.models import Clock, ClockStatus
from reachable.rules.registry import get_rule

BATCH = 500


@dataclass
class SweepReport:
    escalated: int = 0
    breached: int = 0


def _escalate(clk_id: int, now: datetime) -> bool:
    with transaction.atomic():
        won = Clock.objects.filter(
            pk=clk_id, status=ClockStatus.OPEN, escalated_at__isnull=True
        ).update(escalated_at=now)
        if not won:
            return False
        clk = Clock.objects.select_related("alert__team__manager", "person").get(pk=clk_id)
        rule = get_rule(clk.rule_id)
        manager = clk.alert.team.manager if clk.alert and clk.alert.team else None
        if manager is not None:
            title = rule.title if rule else clk.rule_id
            notification_send(
                recipient=manager,
                subject=f"Escalation: {clk.rule_id} for {clk.person.ref}",
                body=(f"The clock for '{title}' on {clk.person.ref} is running out: "
                      f"deadline {clk.deadline:%d %b %Y %H:%M}."),
            )
        audit_append(actor=None, action="clock.escalated", object_type="clock", object_id=clk.pk,
                     person_id=clk.person_id,
                     detail={"rule": clk.rule_id, "manager": manager.username if manager else None})
        return True


def _breach(clk_id: int) -> bool:
    with transaction.atomic():
        clk = Clock.objects.filter(pk=clk_id).only("deadline", "person_id", "rule_id").first()
        if clk is None:
            return False
        won = Clock.objects.filter(pk=clk_id, status=ClockStatus.OPEN).update(
            status=ClockStatus.BREACHED, breached_at=clk.deadline
        )
        if not won:
            return False
        audit_append(actor=None, action="clock.breached", object_type="clock", object_id=clk_id,
                     person_id=clk.person_id,
                     detail={"rule": clk.rule_id, "deadline": clk.deadline.isoformat()})
        return True


def clocks_sweep(*, now: datetime | None = None) -> SweepReport:
    moment = now or clock.now()
    report = SweepReport()
    due_escalation = Clock.objects.filter(
        status=ClockStatus.OPEN, escalated_at__isnull=True, escalate_at__lte=moment,
        deadline__gt=moment,
    ).values_list("pk", flat=True)
    for clk_id in list(due_escalation[:100_000]):
        report.escalated += _escalate(clk_id, moment)
    due_breach = Clock.objects.filter(status=ClockStatus.OPEN, deadline__lte=moment).values_list(
        "pk", flat=True
    )
    for clk_id in list(due_breach[:100_000]):
        report.breached += _breach(clk_id)
    return report


def next_clock_transition(after: datetime) -> datetime | None:
    """The next moment a sweep would change something (for simulated time in replays)."""
    open_clocks = Clock.objects.filter(status=ClockStatus.OPEN)
    times = [
        open_clocks.filter(escalated_at__isnull=True, escalate_at__gt=after)
        .order_by("escalate_at").values_list("escalate_at", flat=True).first(),
        open_clocks.filter(deadline__gt=after).order_by("deadline")
        .values_list("deadline", flat=True).first(),
    ]
    due = [t for t in times if t is not None]
    return min(due) if due else None
