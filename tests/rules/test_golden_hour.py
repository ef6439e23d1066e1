"""golden-hour: a child booked into custody must reach the MASH within one clock hour."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection

from reachable.access.models import AccessGrant
from reachable.access.policies import PersonPolicy
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.people.models import Person
from reachable.rules.engine import evaluate_event
from reachable.rules.models import Alert, AlertStatus, Clock, ClockStatus
from tests.borough import Borough, custody_event
from tests.world import AT, row_counts


def golden(**filters: object) -> list[Alert]:
    return list(Alert.objects.filter(rule_id="golden-hour", **filters))


def test_child_in_custody_raises_alert_routed_to_mash_with_a_one_hour_clock(
    borough: Borough,
) -> None:
    with clock.frozen_at(AT):
        submission = borough.submit(custody_event())
    [alert] = golden()
    assert alert.team == borough.teams["mash"]
    assert alert.status == AlertStatus.OPEN
    assert alert.severity == "red"
    assert alert.raised_at == AT
    assert "Brixton" in alert.summary and "robbery" in alert.summary
    [clk] = Clock.objects.filter(alert=alert)
    event = Event.objects.get()
    assert clk.started_at == event.occurred_at
    assert clk.deadline == event.occurred_at + timedelta(hours=1)
    assert clk.escalate_at == event.occurred_at + timedelta(minutes=45)
    assert clk.status == ClockStatus.OPEN
    assert {"id": alert.pk, "rule": "golden-hour", "route": "mash"} in (
        submission.result["alerts"])
    assert [c["id"] for c in submission.result["clocks"]] == [clk.pk]
    # The routed team receives a relationship, so the MASH can open the child's record.
    assert AccessGrant.objects.filter(person=alert.person, team=borough.teams["mash"]).exists()
    with clock.frozen_at(AT):
        assert PersonPolicy.can_view(borough.users["mash_practitioner"], alert.person_id)


@pytest.mark.parametrize(
    ("dob", "fires"),
    [
        ("2011-07-19", True),
        ("2007-03-07", True),  # 18 tomorrow: still a child today
        ("2007-03-06", False),  # 18th birthday today
        ("1990-01-01", False),
    ],
)
def test_only_under_eighteens(borough: Borough, dob: str, fires: bool) -> None:
    with clock.frozen_at(AT):
        borough.submit(custody_event(dob=dob, nhs=None))
    assert bool(golden()) is fires
    assert Clock.objects.filter(rule_id="golden-hour").exists() is fires


def test_person_with_no_date_of_birth_is_not_assumed_a_child(borough: Borough) -> None:
    payload = custody_event()
    del payload["subject"]["date_of_birth"]
    with clock.frozen_at(AT):
        borough.submit(payload)
    assert Person.objects.get().date_of_birth is None
    assert golden() == []
    assert not Clock.objects.exists()


def test_age_is_taken_at_the_event_not_at_submission(borough: Borough) -> None:
    # Booked the day before the 18th birthday, submitted (late) the day after.
    with clock.frozen_at(AT + timedelta(days=2)):
        borough.submit(custody_event(dob="2007-03-07", nhs=None,
                                     at="2025-03-06T10:10:00+00:00"))
    assert len(golden()) == 1


def test_duplicate_suppression_one_alert_per_trigger(borough: Borough) -> None:
    with clock.frozen_at(AT):
        borough.submit(custody_event())
        borough.submit(custody_event())  # a retry of the same record
        event = Event.objects.get()
        before = row_counts()
        again = evaluate_event(event)  # the same event evaluated a second time
    assert again.alerts == [] and again.clocks == []
    assert row_counts() == before
    assert len(golden()) == 1


def test_a_second_custody_is_a_second_alert(borough: Borough) -> None:
    with clock.frozen_at(AT):
        borough.submit(custody_event(record="A"))
        borough.submit(custody_event(record="B", at="2025-03-06T10:12:00+00:00"))
    assert len(golden()) == 2
    assert Person.objects.count() == 1


def _make_audit_fail() -> None:
    """Real fault injection in the database: the audit table refuses the intake's record."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_audit_down() RETURNS trigger AS $$ BEGIN "
                "IF NEW.action = 'event.accepted' THEN RAISE EXCEPTION 'audit down'; END IF; "
                "RETURN NEW; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER test_audit_down BEFORE INSERT ON audit_auditrecord "
                "FOR EACH ROW EXECUTE FUNCTION test_audit_down()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_audit_down BEFORE INSERT ON audit_auditrecord "
                "WHEN NEW.action = 'event.accepted' BEGIN SELECT RAISE(ABORT, 'audit down'); END"
            )


def test_event_alert_and_clock_commit_together_or_not_at_all(borough: Borough) -> None:
    borough.system_for("met-police")
    _make_audit_fail()
    before = row_counts()
    with clock.frozen_at(AT), pytest.raises(DatabaseError):
        borough.submit(custody_event())
    assert row_counts() == before
    assert not Event.objects.exists()
    assert not Alert.objects.exists()
    assert not Clock.objects.exists()
    assert not Person.objects.exists()
