"""The front-door rules (``rules.md``, "Reachable moments and front door") at their edges:
local limits from settings, RAG ratings, working time across bank holidays, information
requests' due times and matching, routes, and duplicate suppression. The stories themselves
are in ``scenarios/rules/``; these are the cases a story shows badly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings

from reachable.access.services import allocation_create
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.intake.services import Submission
from reachable.people.models import Person
from reachable.rules.calendar import LONDON, escalation_point, working_time_between
from reachable.rules.catalogue.front_door import force_code
from reachable.rules.engine import evaluate_event
from reachable.rules.models import AgendaItem, Alert, AlertStatus, Clock, ClockStatus
from reachable.rules.services import alert_acknowledge
from tests.borough import Borough
from tests.world import row_counts

CHILD = {"given_name": "Ffion", "family_name": "Exampleton", "date_of_birth": "2011-02-03"}
ADULT = {"given_name": "Gavin", "family_name": "Sampleworth", "date_of_birth": "1990-06-01"}
SHARED = "Shared what the MASH holds with the agency and the allocated worker."


def local(text: str) -> datetime:
    """A London wall-clock time (GMT or BST as the date falls)."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def event(kind: str, data: dict[str, Any], at: datetime, *, agency: str = "csc",
          record: str | None = None, subject: dict[str, str] | None = None) -> dict[str, Any]:
    who = dict(subject or CHILD)
    return {
        "type": kind,
        "occurred_at": at.isoformat(),
        "source": {"agency": agency,
                   "record": record or f"{kind}-{who['given_name']}-{at:%Y%m%d%H%M}"},
        "subject": who,
        "data": data,
    }


def submit(borough: Borough, payload: dict[str, Any]) -> Submission:
    at = datetime.fromisoformat(payload["occurred_at"])
    with clock.frozen_at(at + timedelta(minutes=1)):
        return borough.submit(payload)


def alerts(rule: str, **filters: Any) -> list[Alert]:
    return list(Alert.objects.filter(rule_id=rule, **filters).order_by("id"))


def clocks(rule: str, **filters: Any) -> list[Clock]:
    return list(Clock.objects.filter(rule_id=rule, **filters).order_by("started_at", "id"))


def acknowledge(borough: Borough, alert: Alert, role: str, at: datetime) -> None:
    with clock.frozen_at(at):
        alert_acknowledge(actor=borough.users[role], alert_id=alert.pk, information_shared=SHARED)


def screened(rating: str, at: datetime, **kw: Any) -> dict[str, Any]:
    return event("mash.screened", {"rating": rating}, at, **kw)


def requested(request_id: str, at: datetime, to: str = "nhs-trust", **data: Any
              ) -> dict[str, Any]:
    return event("mash.information_requested",
                 {"request_id": request_id, "to_agency": to, **data}, at,
                 record=f"req-{request_id}")


def custody(at: datetime, *, force: str, agency: str, subject: dict[str, str] | None = None,
            record: str = "cust-1") -> dict[str, Any]:
    return event("custody.booked", {"force": force, "station": "Bridewell"}, at,
                 agency=agency, record=record, subject=subject)


# --- local limits (REACHABLE_CLOCK_LIMITS) -------------------------------------------------


@override_settings(REACHABLE_CLOCK_LIMITS={"golden-hour": {"amount": 2,
                                                           "escalate_fraction": 0.5}})
def test_a_local_limit_replaces_the_default_clock(borough: Borough) -> None:
    at = local("2025-03-06T10:10")
    submit(borough, custody(at, force="met", agency="met-police"))
    [clk] = clocks("golden-hour")
    assert clk.deadline == at + timedelta(hours=2)
    assert clk.escalate_at == at + timedelta(hours=1)
    assert clk.amount == 2 and clk.unit == "clock_hours"


@override_settings(REACHABLE_CLOCK_LIMITS={"mash-rag": {"red": 2}})
def test_local_rag_limits_change_only_the_ratings_they_name(borough: Borough) -> None:
    at = local("2025-03-03T10:00")
    submit(borough, screened("red", at))
    submit(borough, screened("amber", at, subject=ADULT))
    [red] = clocks("mash-rag", person__given_name="Ffion")
    [amber] = clocks("mash-rag", person__given_name="Gavin")
    assert red.deadline == local("2025-03-03T12:00")
    assert amber.deadline == local("2025-03-06T10:00")  # the default 24 working hours
    assert "decide within 2 working hours" in alerts("mash-rag")[0].summary


@override_settings(REACHABLE_CLOCK_LIMITS={"mash-info-request": {"amount": 8}})
def test_a_local_limit_for_information_requests_overrides_the_rag_default(
    borough: Borough,
) -> None:
    submit(borough, screened("red", local("2025-03-03T10:00")))
    submit(borough, requested("R1", local("2025-03-03T11:00")))
    [clk] = clocks("mash-info-request")
    assert clk.deadline == local("2025-03-04T11:00")  # 8 working hours, not red's 4


@override_settings(REACHABLE_CLOCK_LIMITS={"assessment-45wd": {"amount": 10}})
def test_a_local_assessment_limit_still_runs_to_the_end_of_the_last_day(
    borough: Borough,
) -> None:
    submit(borough, event("assessment.started", {"referral_date": "2025-03-03"},
                          local("2025-03-04T10:00")))
    [clk] = clocks("assessment-45wd")
    assert clk.started_at == local("2025-03-03T09:00")
    assert clk.deadline == local("2025-03-17T17:00")  # the 10th working day after the 3rd
    assert "within 10 working days" in alerts("assessment-45wd")[0].summary


# --- MASH RAG ------------------------------------------------------------------------------


@pytest.mark.parametrize(("rating", "deadline"), [
    ("red", "2025-03-03T14:00"),    # 4 working hours
    ("amber", "2025-03-06T10:00"),  # 24 = 7 on Monday, 8 + 8, and 1 on Thursday
    ("green", "2025-03-14T10:00"),  # 72 = 7 on Monday, 8 days of 8, and 1 on the Friday after
])
def test_rag_clock_by_rating(borough: Borough, rating: str, deadline: str) -> None:
    submit(borough, screened(rating, local("2025-03-03T10:00")))
    [clk] = clocks("mash-rag")
    assert clk.deadline == local(deadline)
    assert clk.unit == "working_hours" and clk.label == f"RAG {rating}"
    [alert] = alerts("mash-rag")
    assert alert.team == borough.teams["mash"]
    assert alert.summary.startswith(f"Screened {rating.upper()}: decide within")


@pytest.mark.parametrize(("screened_at", "deadline", "escalate"), [
    # Thursday before Easter: 2 hours, then Good Friday, the weekend and Easter Monday
    ("2025-04-17T15:00", "2025-04-22T11:00", "2025-04-22T10:00"),
    # Christmas Eve: 1 hour, then Christmas Day, Boxing Day and the weekend
    ("2025-12-24T16:00", "2025-12-29T12:00", "2025-12-29T11:00"),
    # After hours on a Friday: counted from Monday 09:00
    ("2025-03-07T18:30", "2025-03-10T13:00", "2025-03-10T12:00"),
])
def test_red_deadline_and_escalation_skip_bank_holidays_and_weekends(
    borough: Borough, screened_at: str, deadline: str, escalate: str
) -> None:
    submit(borough, screened("red", local(screened_at)))
    [clk] = clocks("mash-rag")
    assert clk.deadline == local(deadline)
    # Escalation at 75 % of the working time, so the manager hears during working hours.
    assert clk.escalate_at == local(escalate)


def test_the_decision_meets_the_rag_clock_and_settles_the_alert(borough: Borough) -> None:
    submit(borough, screened("red", local("2025-04-17T15:00")))
    submit(borough, event("mash.decided", {"outcome": "assessment"},
                          local("2025-04-22T10:59")))
    [clk] = clocks("mash-rag")
    assert clk.status == ClockStatus.MET and clk.met_by == "mash.decided"
    [alert] = alerts("mash-rag")
    assert alert.status == AlertStatus.ACKNOWLEDGED


def test_referral_decision_over_the_early_may_bank_holiday(borough: Borough) -> None:
    submit(borough, event("contact.received", {"narrative": "Worried about bruising.",
                                               "accepted_as_referral": True},
                          local("2025-05-02T16:00")))
    submit(borough, event("contact.received", {"narrative": "Advice only.",
                                               "accepted_as_referral": False},
                          local("2025-05-02T16:05"), subject=ADULT))
    [clk] = clocks("referral-decision-1wd")
    assert clk.person.given_name == "Ffion"
    assert clk.deadline == local("2025-05-06T16:00")  # Monday 5 May does not count


# --- MASH information requests -------------------------------------------------------------


def test_information_request_due_at_is_its_deadline(borough: Borough) -> None:
    due = local("2025-03-03T15:00")
    submit(borough, requested("R1", local("2025-03-03T11:00"), due_at=due.isoformat()))
    [clk] = clocks("mash-info-request")
    assert clk.deadline == due
    assert clk.key == "R1" and clk.owner == "nhs-trust"
    assert clk.label == "Information from nhs-trust"


def test_information_request_due_before_it_was_made_falls_back_to_the_default(
    borough: Borough,
) -> None:
    submit(borough, requested("R1", local("2025-03-03T11:00"),
                              due_at=local("2025-03-03T10:00").isoformat()))
    [clk] = clocks("mash-info-request")
    assert clk.deadline == local("2025-03-06T11:00")  # amber: nothing screened yet


@pytest.mark.parametrize(("rating", "deadline"), [
    ("red", "2025-03-03T15:00"), ("amber", "2025-03-06T11:00"), ("green", "2025-03-14T11:00"),
])
def test_information_request_defaults_to_the_contacts_rag_time(
    borough: Borough, rating: str, deadline: str
) -> None:
    submit(borough, screened(rating, local("2025-03-03T10:00")))
    submit(borough, requested("R1", local("2025-03-03T11:00")))
    [clk] = clocks("mash-info-request")
    assert clk.deadline == local(deadline)


def test_each_request_goes_to_its_agency_and_only_its_own_answer_meets_it(
    borough: Borough,
) -> None:
    submit(borough, requested("HR-1", local("2025-03-03T11:00"), to="nhs-trust"))
    submit(borough, requested("ED-1", local("2025-03-03T11:01"), to="education"))
    health, school = alerts("mash-info-request")
    assert health.team == borough.teams["health-safeguarding"]
    assert school.team == borough.teams["education-safeguarding"]
    # The school answers some other request: nothing is met.
    submit(borough, event("mash.information_provided", {"request_id": "ED-0"},
                          local("2025-03-03T13:00"), agency="education"))
    assert [c.status for c in clocks("mash-info-request")] == [ClockStatus.OPEN] * 2
    submit(borough, event("mash.information_provided", {"request_id": "HR-1"},
                          local("2025-03-04T10:00"), agency="nhs-trust"))
    health_clock, school_clock = clocks("mash-info-request")
    assert (health_clock.key, health_clock.status) == ("HR-1", ClockStatus.MET)
    assert (school_clock.key, school_clock.status) == ("ED-1", ClockStatus.OPEN)
    health.refresh_from_db()
    school.refresh_from_db()
    assert health.status == AlertStatus.ACKNOWLEDGED
    assert school.status == AlertStatus.OPEN


# --- out-of-area arrest --------------------------------------------------------------------


def test_out_of_area_custody_alerts_the_home_mash_and_the_allocated_worker(
    borough: Borough,
) -> None:
    submit(borough, event("person.registered", {"record_type": "child"},
                          local("2025-03-03T09:00")))
    worker = borough.users["social_worker"]
    with clock.frozen_at(local("2025-03-03T09:30")):
        allocation_create(actor=None, person=Person.objects.get(), worker=worker)
    at = local("2025-03-04T11:00")
    submit(borough, custody(at, force="nottinghamshire", agency="notts-police"))
    by_route = {a.route: a for a in alerts("out-of-area-arrest")}
    assert set(by_route) == {"mash", "allocated_worker"}
    assert by_route["mash"].team == borough.teams["mash"]
    assert by_route["mash"].assignee is None
    assert by_route["allocated_worker"].assignee == worker
    assert by_route["allocated_worker"].team == borough.teams["sw-north"]
    assert "Custody by nottinghamshire at Bridewell" in by_route["mash"].summary
    [clk] = clocks("out-of-area-arrest")
    assert clk.alert == by_route["mash"]
    assert clk.deadline == local("2025-03-05T11:00")
    # The worker acknowledging does not do the MASH's sharing; the MASH's does.
    acknowledge(borough, by_route["allocated_worker"], "social_worker", at + timedelta(hours=1))
    clk.refresh_from_db()
    assert clk.status == ClockStatus.OPEN
    acknowledge(borough, by_route["mash"], "mash_practitioner", at + timedelta(hours=2))
    clk.refresh_from_db()
    assert clk.status == ClockStatus.MET


@pytest.mark.parametrize(("force", "fires"), [
    ("nottinghamshire", True),
    ("met", False),
    ("MET", False),
    (" Met ", False),
    ("west-midlands", True),
])
def test_only_a_force_other_than_the_home_force(borough: Borough, force: str,
                                                fires: bool) -> None:
    payload = event("arrest.recorded", {"force": force, "location": "Sneinton"},
                    local("2025-03-04T11:00"), agency="notts-police")
    submit(borough, payload)
    assert bool(alerts("out-of-area-arrest")) is fires


@override_settings(REACHABLE_HOME_POLICE_FORCE="west-midlands")
def test_the_home_force_is_configuration_and_spelt_loosely(borough: Borough) -> None:
    assert force_code("West Midlands") == force_code("west_midlands") == "west-midlands"
    submit(borough, event("arrest.recorded", {"force": "West Midlands"},
                          local("2025-03-04T11:00"), agency="notts-police", record="a1"))
    assert alerts("out-of-area-arrest") == []
    submit(borough, event("arrest.recorded", {"force": "met"},
                          local("2025-03-04T12:00"), agency="met-police", record="a2"))
    assert len(alerts("out-of-area-arrest")) == 2  # the Met is out of area here


def test_an_adult_arrested_out_of_area_raises_nothing(borough: Borough) -> None:
    submit(borough, custody(local("2025-03-04T11:00"), force="nottinghamshire",
                            agency="notts-police", subject=ADULT))
    assert not Alert.objects.exists()
    assert not Clock.objects.exists()


# --- ED, county lines, urgent response, assessment -------------------------------------------


@pytest.mark.parametrize(("reason", "subject", "fires"), [
    ("assault", CHILD, True), ("weapon_injury", CHILD, True), ("overdose", CHILD, True),
    ("self_harm", CHILD, True), ("sexual_assault", CHILD, True),
    ("illness", CHILD, False), ("seizure", CHILD, False), ("injury", CHILD, False),
    ("other", CHILD, False), ("assault", ADULT, False),
])
def test_ed_violence_reasons(borough: Borough, reason: str, subject: dict[str, str],
                             fires: bool) -> None:
    submit(borough, event("ed.attended", {"reason": reason}, local("2025-03-03T22:00"),
                          agency="nhs-trust", subject=subject))
    assert bool(alerts("ed-violence")) is fires


def test_ed_violence_is_met_by_a_contact_to_the_front_door(borough: Borough) -> None:
    submit(borough, event("ed.attended", {"reason": "weapon_injury"},
                          local("2025-03-07T14:00"), agency="nhs-trust"))
    [clk] = clocks("ed-violence")
    assert clk.deadline == local("2025-03-10T14:00")  # Friday to Monday
    submit(borough, event("contact.received", {"narrative": "ED nurse refers."},
                          local("2025-03-10T09:00"), agency="nhs-trust"))
    clk.refresh_from_db()
    assert (clk.status, clk.met_by) == (ClockStatus.MET, "contact.received")


def test_county_lines_puts_the_child_on_the_next_drm_once(borough: Borough) -> None:
    submit(borough, event("county_lines.reported", {"line_name": "Dolly"},
                          local("2025-03-04T10:00"), agency="met-police", record="i1"))
    submit(borough, event("county_lines.reported", {"line_name": "Dolly"},
                          local("2025-03-05T10:00"), agency="met-police", record="i2"))
    assert len(alerts("county-lines-drm")) == 2  # each report is seen
    [item] = AgendaItem.objects.filter(meeting="drm")
    assert item.rule_id == "county-lines-drm" and "Dolly line" in item.reason
    submit(borough, event("county_lines.reported", {}, local("2025-03-05T11:00"),
                          agency="met-police", record="i3", subject=ADULT))
    assert AgendaItem.objects.count() == 1


def test_urgent_response_is_timed_from_when_the_risk_was_first_identified(
    borough: Borough,
) -> None:
    screened_at = local("2025-03-07T09:00")
    submit(borough, event("exploitation_screening.completed",
                          {"level": "significant", "kind": "criminal"}, screened_at))
    submit(borough, event("mash.decided", {"outcome": "urgent_exploitation_response"},
                          local("2025-03-07T11:00")))
    [clk] = clocks("urgent-response-48h")
    [alert] = alerts("urgent-response-48h")
    assert clk.deadline == screened_at + timedelta(hours=48)
    assert alert.team == borough.teams["exploitation"]
    acknowledge(borough, alert, "exploitation_coordinator", local("2025-03-08T18:00"))
    # Once met, a new identification of significant risk starts a new response.
    submit(borough, event("exploitation_screening.completed", {"level": "significant"},
                          local("2025-06-02T09:00"), record="es-2"))
    assert [c.status for c in clocks("urgent-response-48h")] == [ClockStatus.MET,
                                                                 ClockStatus.OPEN]


@pytest.mark.parametrize("level", ["none", "emerging", "moderate"])
def test_urgent_response_needs_significant_risk(borough: Borough, level: str) -> None:
    submit(borough, event("exploitation_screening.completed", {"level": level},
                          local("2025-03-07T09:00")))
    submit(borough, event("mash.decided", {"outcome": "assessment"},
                          local("2025-03-07T10:00")))
    assert alerts("urgent-response-48h") == []


def test_assessment_clock_runs_from_the_referral_date_to_the_end_of_the_45th_day(
    borough: Borough,
) -> None:
    submit(borough, event("assessment.started", {"referral_date": "2025-03-03"},
                          local("2025-03-05T10:00")))
    [clk] = clocks("assessment-45wd")
    assert clk.started_at == local("2025-03-03T09:00")
    # Easter (18 and 21 April) and 5 May are not working days.
    assert clk.deadline == local("2025-05-08T17:00")
    assert clk.label == "from referral on 03 Mar 2025"


def test_assessment_without_a_referral_date_runs_from_the_accepted_referral(
    borough: Borough,
) -> None:
    referred = local("2025-03-03T14:20")
    submit(borough, event("contact.received", {"narrative": "Neglect concerns.",
                                               "accepted_as_referral": True}, referred))
    submit(borough, event("contact.received", {"narrative": "Another call, not accepted."},
                          local("2025-03-04T10:00")))
    submit(borough, event("assessment.started", {}, local("2025-03-05T10:00")))
    [clk] = clocks("assessment-45wd")
    assert clk.started_at == referred
    assert clk.deadline == local("2025-05-08T17:00")


def test_assessment_with_no_referral_known_runs_from_its_own_start(borough: Borough) -> None:
    started = local("2025-03-05T10:00")
    submit(borough, event("assessment.started", {}, started))
    [clk] = clocks("assessment-45wd")
    assert clk.started_at == started
    assert clk.label.startswith("from the start of the assessment")


# --- duplicate suppression -----------------------------------------------------------------

NOTTS_CUSTODY = custody(local("2025-03-04T11:00"), force="nottinghamshire",
                        agency="notts-police")
TRIGGERS = {
    "out-of-area-arrest": (NOTTS_CUSTODY, 2, 1),
    "ed-violence": (event("ed.attended", {"reason": "overdose"}, local("2025-03-04T11:00"),
                          agency="nhs-trust"), 1, 1),
    "county-lines-drm": (event("county_lines.reported", {}, local("2025-03-04T11:00"),
                               agency="met-police"), 1, 0),
    "urgent-response-48h": (event("exploitation_screening.completed",
                                  {"level": "significant"}, local("2025-03-04T11:00")), 1, 1),
    "mash-rag": (screened("red", local("2025-03-04T11:00")), 1, 1),
    "mash-info-request": (requested("R1", local("2025-03-04T11:00")), 1, 1),
    "referral-decision-1wd": (event("contact.received", {"narrative": "x",
                                                         "accepted_as_referral": True},
                                    local("2025-03-04T11:00")), 1, 1),
    "assessment-45wd": (event("assessment.started", {}, local("2025-03-04T11:00")), 1, 1),
}


@pytest.mark.parametrize("rule", sorted(TRIGGERS))
def test_the_same_event_resubmitted_or_reevaluated_does_not_alert_twice(
    borough: Borough, rule: str
) -> None:
    payload, n_alerts, n_clocks = TRIGGERS[rule]
    first = submit(borough, payload)
    again = submit(borough, payload)  # a retry of the same agency record
    assert first.created and not again.created
    assert len(alerts(rule)) == n_alerts
    assert len(clocks(rule)) == n_clocks
    before = row_counts()
    agenda_before = AgendaItem.objects.count()
    with clock.frozen_at(local("2025-03-04T11:05")):
        result = evaluate_event(Event.objects.get())
    assert result.alerts == [] and result.clocks == [] and result.agenda == []
    assert row_counts() == before
    assert AgendaItem.objects.count() == agenda_before


# --- working time for escalation ------------------------------------------------------------


def test_working_time_between_skips_nights_weekends_and_bank_holidays() -> None:
    assert working_time_between(local("2025-04-17T15:00"), local("2025-04-22T11:00")) == (
        timedelta(hours=4))
    assert working_time_between(local("2025-03-03T22:00"), local("2025-03-04T08:00")) == (
        timedelta(0))


def test_escalation_point_counts_working_time_only_for_working_units() -> None:
    start, deadline = local("2025-04-17T15:00"), local("2025-04-22T11:00")
    assert escalation_point(start, deadline, 0.75, "working_hours") == local("2025-04-22T10:00")
    assert escalation_point(start, deadline, 0.75, "working_days") == local("2025-04-22T10:00")
    wall = start + (deadline - start) * 0.75
    assert escalation_point(start, deadline, 0.75, "clock_hours") == wall
    assert escalation_point(start, deadline, 0.75) == wall
    # A working clock with no working time in it (all out of hours) falls back to wall time.
    night = local("2025-03-03T22:00"), local("2025-03-04T08:00")
    assert escalation_point(*night, 0.5, "working_hours") == local("2025-03-04T03:00")
