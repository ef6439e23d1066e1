"""Acknowledging alerts (meets the clock) and the sweep (escalate at 75 %, breach at deadline)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from reachable.access.models import Notification
from reachable.access.notifications import outbox_deliver_all
from reachable.audit.models import AuditRecord
from reachable.core import clock
from reachable.core.errors import NotFound, ValidationFailed
from reachable.rules.models import Alert, AlertStatus, Clock, ClockStatus
from reachable.rules.services import alert_acknowledge
from reachable.rules.sweep import clocks_sweep, next_clock_transition
from tests.borough import Borough, custody_event
from tests.world import AT, row_counts

BOOKED = datetime.fromisoformat("2025-03-06T10:10:00+00:00")
ESCALATE = BOOKED + timedelta(minutes=45)
DEADLINE = BOOKED + timedelta(hours=1)
SHARED = "Custody record shared with the MASH police officer and the allocated worker."


@pytest.fixture
def alert(borough: Borough) -> Alert:
    with clock.frozen_at(AT):
        borough.submit(custody_event())
    return Alert.objects.get(rule_id="golden-hour")


def golden_clock(alert: Alert) -> Clock:
    return Clock.objects.get(alert=alert)


# --- acknowledge ---------------------------------------------------------------------------


def test_acknowledge_with_information_shared_meets_the_clock(borough: Borough,
                                                             alert: Alert) -> None:
    user = borough.users["mash_practitioner"]
    when = AT + timedelta(minutes=20)
    with clock.frozen_at(when):
        result = alert_acknowledge(actor=user, alert_id=alert.pk, information_shared=SHARED,
                                   outcome="strategy discussion booked")
    alert.refresh_from_db()
    assert result.pk == alert.pk
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == user
    assert alert.acknowledged_at == when
    assert alert.information_shared == SHARED
    clk = golden_clock(alert)
    assert clk.status == ClockStatus.MET
    assert clk.met_at == when
    record = AuditRecord.objects.filter(action="alert.acknowledged").get()
    assert record.actor_id == user.pk
    assert record.object_id == str(alert.pk)
    assert record.detail["clocks_met"] == [clk.pk]


@pytest.mark.parametrize("shared", ["", "   ", None])
def test_acknowledge_requires_information_shared(borough: Borough, alert: Alert,
                                                 shared: Any) -> None:
    before = row_counts()
    with clock.frozen_at(AT), pytest.raises(ValidationFailed) as caught:
        alert_acknowledge(actor=borough.users["mash_practitioner"], alert_id=alert.pk,
                          information_shared=shared)
    assert "information_shared" in caught.value.errors
    assert row_counts() == before
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert golden_clock(alert).status == ClockStatus.OPEN


def test_acknowledging_twice_is_refused(borough: Borough, alert: Alert) -> None:
    with clock.frozen_at(AT):
        alert_acknowledge(actor=borough.users["mash_practitioner"], alert_id=alert.pk,
                          information_shared=SHARED)
        before = row_counts()
        with pytest.raises(ValidationFailed):
            alert_acknowledge(actor=borough.users["mash_manager"], alert_id=alert.pk,
                              information_shared="Something else entirely was shared.")
    assert row_counts() == before
    alert.refresh_from_db()
    assert alert.acknowledged_by == borough.users["mash_practitioner"]


def test_the_team_manager_may_acknowledge(borough: Borough, alert: Alert) -> None:
    with clock.frozen_at(AT):
        alert_acknowledge(actor=borough.users["mash_manager"], alert_id=alert.pk,
                          information_shared=SHARED)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED


@pytest.mark.parametrize(
    "role", ["social_worker", "team_manager", "police_liaison", "iro", "ig_officer",
             "partnership_manager", "exploitation_coordinator", "agency_system"],
)
def test_someone_outside_the_team_cannot_acknowledge(borough: Borough, alert: Alert,
                                                     role: str) -> None:
    before = row_counts()
    with clock.frozen_at(AT), pytest.raises(NotFound):
        alert_acknowledge(actor=borough.users[role], alert_id=alert.pk, information_shared=SHARED)
    assert row_counts() == before


def test_missing_alert_is_the_same_not_found(borough: Borough, alert: Alert) -> None:
    with clock.frozen_at(AT), pytest.raises(NotFound) as missing:
        alert_acknowledge(actor=borough.users["mash_practitioner"], alert_id=alert.pk + 999,
                          information_shared=SHARED)
    with clock.frozen_at(AT), pytest.raises(NotFound) as forbidden:
        alert_acknowledge(actor=borough.users["social_worker"], alert_id=alert.pk,
                          information_shared=SHARED)
    assert str(missing.value) == str(forbidden.value)


def test_acknowledging_after_a_breach_does_not_turn_it_into_met(borough: Borough,
                                                                alert: Alert) -> None:
    clocks_sweep(now=DEADLINE + timedelta(minutes=5))
    with clock.frozen_at(DEADLINE + timedelta(minutes=10)):
        alert_acknowledge(actor=borough.users["mash_practitioner"], alert_id=alert.pk,
                          information_shared=SHARED)
    clk = golden_clock(alert)
    assert clk.status == ClockStatus.BREACHED
    assert clk.met_at is None


# --- sweep ---------------------------------------------------------------------------------


def test_nothing_happens_before_seventy_five_percent(alert: Alert) -> None:
    before = row_counts()
    report = clocks_sweep(now=ESCALATE - timedelta(seconds=1))
    assert (report.escalated, report.breached) == (0, 0)
    assert row_counts() == before


def test_escalates_at_seventy_five_percent_to_the_team_manager_once(
    borough: Borough, alert: Alert,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        report = clocks_sweep(now=ESCALATE)
    assert (report.escalated, report.breached) == (1, 0)
    assert mail.outbox == []  # the outbox pass that follows the sweep sends it
    assert outbox_deliver_all().sent == 1
    clk = golden_clock(alert)
    assert clk.escalated_at == ESCALATE
    assert clk.status == ClockStatus.OPEN
    manager = borough.users["mash_manager"]
    [note] = Notification.objects.all()
    assert note.recipient == manager
    assert alert.person.ref in note.subject
    assert [m.to for m in mail.outbox] == [[manager.email]]
    assert AuditRecord.objects.filter(action="clock.escalated", object_id=str(clk.pk)).count() == 1

    before = row_counts()
    again = clocks_sweep(now=ESCALATE + timedelta(minutes=1))
    assert (again.escalated, again.breached) == (0, 0)
    assert row_counts() == before


def test_breaches_at_the_deadline_once(alert: Alert) -> None:
    clocks_sweep(now=ESCALATE)
    assert clocks_sweep(now=DEADLINE - timedelta(seconds=1)).breached == 0
    report = clocks_sweep(now=DEADLINE)
    assert report.breached == 1
    clk = golden_clock(alert)
    assert clk.status == ClockStatus.BREACHED
    assert clk.breached_at == DEADLINE
    before = row_counts()
    assert clocks_sweep(now=DEADLINE + timedelta(hours=1)).breached == 0
    assert row_counts() == before
    assert AuditRecord.objects.filter(action="clock.breached").count() == 1


def test_a_late_sweep_breaches_without_escalating(alert: Alert) -> None:
    report = clocks_sweep(now=DEADLINE + timedelta(hours=3))
    assert (report.escalated, report.breached) == (0, 1)
    clk = golden_clock(alert)
    assert clk.escalated_at is None
    assert clk.breached_at == DEADLINE
    assert not Notification.objects.exists()


def test_a_met_clock_is_neither_escalated_nor_breached(borough: Borough, alert: Alert) -> None:
    with clock.frozen_at(AT):
        alert_acknowledge(actor=borough.users["mash_practitioner"], alert_id=alert.pk,
                          information_shared=SHARED)
    report = clocks_sweep(now=DEADLINE + timedelta(days=1))
    assert (report.escalated, report.breached) == (0, 0)
    assert golden_clock(alert).status == ClockStatus.MET


def test_next_transition_for_simulated_time(alert: Alert) -> None:
    assert next_clock_transition(AT) == ESCALATE
    clocks_sweep(now=ESCALATE)
    assert next_clock_transition(ESCALATE) == DEADLINE
    clocks_sweep(now=DEADLINE)
    assert next_clock_transition(DEADLINE) is None


def test_sweep_command_uses_the_platform_clock(alert: Alert) -> None:
    out = StringIO()
    with clock.frozen_at(DEADLINE):
        call_command("sweep", stdout=out)
    assert json.loads(out.getvalue()) == {"escalated": 0, "breached": 1, "notified": 0,
                                          "emails_sent": 0, "emails_failed": 0}
