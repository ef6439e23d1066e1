"""The set-based sweep: batch by batch, each clock once, audit and notifications in bulk, the
breach alerts of scheduled rules, and a stop between batches that loses nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.test import override_settings

from reachable.access.models import EmailOutbox, Notification
from reachable.access.notifications import message_id, outbox_deliver_all
from reachable.audit.models import AuditRecord
from reachable.audit.verify import verify_chain
from reachable.bench.rules import clocks_populate
from reachable.chronology.models import Event
from reachable.organisations.models import Team
from reachable.rules import registry
from reachable.rules.calendar import ClockUnit
from reachable.rules.models import Alert, Clock, ClockStatus
from reachable.rules.registry import ClockSpec, Rule, register
from reachable.rules.sweep import clocks_sweep
from tests.borough import Borough, custody_event
from tests.world import AT

MOMENT = datetime.fromisoformat("2025-03-06T12:00:00+00:00")


def _mid(message: EmailMessage) -> str:
    return str(message.message()["Message-ID"])


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_every_due_clock_changes_once_whatever_the_batch_size(db: None,
                                                              batch_size: int) -> None:
    kinds = clocks_populate(count=60, due_share=0.5, moment=MOMENT)
    report = clocks_sweep(now=MOMENT, batch_size=batch_size)
    assert (report.escalated, report.breached) == (kinds["escalate"], kinds["breach"])
    assert Clock.objects.filter(escalated_at=MOMENT).count() == kinds["escalate"]
    assert Clock.objects.filter(status=ClockStatus.BREACHED).count() == kinds["breach"]
    assert Clock.objects.filter(status=ClockStatus.OPEN, escalated_at__isnull=True).count() \
        == kinds["later"]
    breached = Clock.objects.filter(status=ClockStatus.BREACHED)
    assert all(c.breached_at == c.deadline for c in breached)
    escalated = AuditRecord.objects.filter(action="clock.escalated")
    assert sorted(int(i) for i in escalated.values_list("object_id", flat=True)) == sorted(
        Clock.objects.filter(escalated_at=MOMENT).values_list("pk", flat=True))
    assert AuditRecord.objects.filter(action="clock.breached").count() == kinds["breach"]
    record = escalated.first()
    assert record is not None and record.detail == {"rule": "golden-hour",
                                                    "manager": "bench-mash-manager"}
    assert record.person_id is not None
    assert verify_chain().intact
    assert clocks_sweep(now=MOMENT, batch_size=batch_size).escalated == 0


def test_each_manager_gets_one_digest_per_batch_listing_every_escalated_clock(
    db: None, django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    kinds = clocks_populate(count=40, due_share=1.0, moment=MOMENT)
    with django_capture_on_commit_callbacks(execute=True):
        report = clocks_sweep(now=MOMENT, batch_size=15)
    assert report.escalated == kinds["escalate"] == 20
    # A batch takes up to 15 clocks of each kind: 15 escalations, then 5.
    notes = list(Notification.objects.order_by("pk"))
    assert report.notified == len(notes) == 2
    assert all(n.recipient.username == "bench-mash-manager" for n in notes)
    assert [n.subject for n in notes] == [f"Escalation: {k} clocks running out"
                                          for k in (15, 5)]
    refs = {line.split(" on ")[1].split(":")[0]
            for n in notes for line in n.body.splitlines() if line.startswith("- ")}
    escalated = Clock.objects.filter(escalated_at=MOMENT).select_related("person")
    assert refs == {c.person.ref for c in escalated}
    # The sweep's commits send nothing: the outbox pass after it does, one Message-ID each.
    assert mail.outbox == []
    assert outbox_deliver_all().sent == 2
    assert sorted(_mid(m) for m in mail.outbox) == sorted(
        message_id(pk) for pk in EmailOutbox.objects.values_list("pk", flat=True))


def test_a_single_escalation_reads_as_one_clock(db: None) -> None:
    clocks_populate(count=100, due_share=0.01, moment=MOMENT)  # one clock, and it escalates
    report = clocks_sweep(now=MOMENT)
    assert (report.escalated, report.notified) == (1, 1)
    note = Notification.objects.get()
    clk = Clock.objects.select_related("person").get(escalated_at=MOMENT)
    assert note.subject == f"Escalation: golden-hour for {clk.person.ref}"
    assert clk.person.ref in note.body and "deadline" in note.body


def test_a_stop_between_batches_leaves_the_rest_for_the_next_sweep(db: None) -> None:
    kinds = clocks_populate(count=40, due_share=1.0, moment=MOMENT)
    asked = iter([False, False, True])
    first = clocks_sweep(now=MOMENT, batch_size=5, should_stop=lambda: next(asked, True))
    assert first.escalated + first.breached == 10  # two batches of 5 + 5, then it stopped
    second = clocks_sweep(now=MOMENT, batch_size=5)
    assert (first.escalated + second.escalated, first.breached + second.breached) == (
        kinds["escalate"], kinds["breach"])
    assert AuditRecord.objects.filter(action__startswith="clock.").count() == 40


@pytest.fixture
def scheduled_rule() -> Iterator[Rule]:
    """A rule whose alert comes only when its clock breaches (a 'scheduled' rule)."""
    registry._load()
    rule = register(Rule(
        id="test-overdue-review", title="Review overdue (test rule)", triggers=(),
        condition=lambda ctx: True, routes=("mash",), severity="amber",
        provenance=("TEST",), provenance_text="A test of breach alerts.",
        clock=ClockSpec(amount=1, unit=ClockUnit.DAYS, met_by=("review.held",),
                        alert_on_breach=True)))
    yield rule
    registry.unregister(rule.id)


def test_a_scheduled_rule_alerts_its_route_when_its_clock_breaches(
    borough: Borough, scheduled_rule: Rule,
) -> None:
    borough.submit(custody_event())
    event = Event.objects.get()
    start = AT - timedelta(days=2)
    clk = Clock.objects.create(
        rule_id=scheduled_rule.id, person=event.person, event=event, key="review-1",
        label="Review of the plan", unit="days", amount=1, started_at=start,
        deadline=start + timedelta(days=1), escalate_at=start + timedelta(hours=18))
    report = clocks_sweep(now=AT)
    assert (report.breached, report.alerts) == (1, 1)
    alert = Alert.objects.get(rule_id=scheduled_rule.id)
    assert alert.team == borough.teams["mash"]
    assert alert.summary == "Overdue: Review of the plan" and alert.key == "review-1"
    record = AuditRecord.objects.get(action="clock.breached", object_id=str(clk.pk))
    assert record.detail["alerts"] == [alert.pk]
    assert clocks_sweep(now=AT + timedelta(days=1)).alerts == 0  # once


@override_settings(REACHABLE_EMAIL_ON_COMMIT=False)
def test_an_escalation_with_no_manager_to_tell_is_still_recorded(db: None) -> None:
    clocks_populate(count=2, due_share=1.0, moment=MOMENT)
    Team.objects.update(manager=None)
    report = clocks_sweep(now=MOMENT)
    assert (report.escalated, report.notified) == (1, 0)
    assert not Notification.objects.exists()
    record = AuditRecord.objects.get(action="clock.escalated")
    assert record.detail["manager"] is None
