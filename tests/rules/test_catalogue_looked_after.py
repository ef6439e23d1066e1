"""Edge conditions of the education, housing, looked-after and health rules that the scenario
files cannot show well: branches by age and placement, local limits from settings, matching
keys, and what the alerts say. Every event goes through the real intake service."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

import pytest

from reachable.core import clock
from reachable.people.models import Person
from reachable.rules.calendar import (
    LONDON,
    ClockUnit,
    add_months,
    add_working_days,
    deadline_after,
)
from reachable.rules.models import Alert, AlertKind, AlertStatus, Clock, ClockStatus
from reachable.rules.registry import get_rule
from tests.borough import Borough

T0 = datetime.fromisoformat("2025-03-03T10:00:00+00:00")  # a Monday
NOW = datetime.fromisoformat("2028-01-01T09:00:00+00:00")  # after every event below
_records = count(1)

CHILD = {"given_name": "Evie", "family_name": "Thornbury", "date_of_birth": "2011-05-14"}
TODDLER = {"given_name": "Theo", "family_name": "Ashworth", "date_of_birth": "2022-06-11"}
SEVENTEEN = {"given_name": "Megan", "family_name": "Oldroyd", "date_of_birth": "2007-11-04"}
MOTHER = {"given_name": "Donna", "family_name": "Featherstone", "date_of_birth": "1988-05-12"}
FATHER = {"given_name": "Gavin", "family_name": "Entwistle", "date_of_birth": "1980-07-07"}


def submit(borough: Borough, etype: str, at: datetime, subject: dict[str, str],
           data: dict[str, Any] | None = None, *, agency: str = "csc",
           related: list[dict[str, str]] | None = None) -> None:
    payload: dict[str, Any] = {
        "type": etype, "occurred_at": at.isoformat(),
        "source": {"agency": agency, "record": f"rec-{next(_records)}"},
        "subject": dict(subject), "data": data or {},
    }
    if related:
        payload["related"] = related
    with clock.frozen_at(NOW):
        borough.submit(payload)


def person(subject: dict[str, str]) -> Person:
    return Person.objects.get(given_name=subject["given_name"],
                              family_name=subject["family_name"])


def clocks(rule_id: str, subject: dict[str, str]) -> list[Clock]:
    return list(Clock.objects.filter(rule_id=rule_id, person=person(subject))
                .order_by("started_at", "id"))


def alerts(rule_id: str, subject: dict[str, str]) -> list[Alert]:
    return list(Alert.objects.filter(rule_id=rule_id, person=person(subject)).order_by("id"))


def looked_after_from(borough: Borough, subject: dict[str, str], at: datetime = T0,
                      status: str = "s20") -> None:
    submit(borough, "cla.started", at, subject, {"legal_status": status})


# -- reviews ---------------------------------------------------------------------------------


def test_review_chain_counts_reviews_in_the_current_episode_only(borough: Borough) -> None:
    looked_after_from(borough, CHILD)
    submit(borough, "cla_review.held", T0 + timedelta(days=14), CHILD)
    submit(borough, "cla_review.held", T0 + timedelta(days=80), CHILD)
    submit(borough, "cla.ended", T0 + timedelta(days=100), CHILD, {"reason": "home"})
    [six] = clocks("cla-review-6m", CHILD)
    assert six.status == ClockStatus.STOPPED and six.stopped_by == "cla.ended"
    # A new episode: its first review is a *first* review again (3 months to the second).
    second_start = T0 + timedelta(days=200)
    looked_after_from(borough, CHILD, at=second_start)
    submit(borough, "cla_review.held", second_start + timedelta(days=10), CHILD)
    three = clocks("cla-review-3m", CHILD)
    assert [c.status for c in three] == [ClockStatus.MET, ClockStatus.OPEN]
    assert three[1].deadline == add_months(second_start + timedelta(days=10), 3)
    assert len(clocks("cla-review-6m", CHILD)) == 1
    first = clocks("cla-review-20wd", CHILD)
    assert first[1].deadline == add_working_days(second_start, 20)
    assert not Alert.objects.filter(rule_id__startswith="cla-review").exists()  # breach only


# -- visits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("placement_type", "weeks", "months"),
                         [("long_term_foster", None, 3), ("residential", 6, None)])
def test_visits_after_the_first_year_depend_on_a_long_term_placement(
    borough: Borough, placement_type: str, weeks: int | None, months: int | None,
) -> None:
    looked_after_from(borough, CHILD)
    submit(borough, "placement.started", T0, CHILD, {"placement_type": placement_type,
                                                    "health_information_shared": True})
    early = T0 + timedelta(days=5)
    submit(borough, "cla_visit.recorded", early, CHILD, {"seen": True})
    late = T0 + timedelta(days=400)
    submit(borough, "cla_visit.recorded", late, CHILD, {"seen": True})
    first, second, third = clocks("cla-visit", CHILD)
    assert first.deadline == T0 + timedelta(weeks=1) and first.status == ClockStatus.MET
    # first year: 6 weeks (calendar weeks keep the local time across the clock change)
    assert second.deadline == deadline_after(early, 6, ClockUnit.WEEKS)
    if months:
        assert third.deadline == add_months(late, months)
    else:
        assert weeks is not None
        assert third.deadline == deadline_after(late, weeks, ClockUnit.WEEKS)


def test_a_visit_without_seeing_the_child_neither_meets_nor_restarts(
    borough: Borough,
) -> None:
    looked_after_from(borough, CHILD)
    submit(borough, "placement.started", T0, CHILD, {"placement_type": "foster_care"})
    submit(borough, "cla_visit.recorded", T0 + timedelta(days=3), CHILD, {"seen": False})
    [only] = clocks("cla-visit", CHILD)
    assert only.status == ClockStatus.OPEN
    # A new placement supersedes the running clock with its own first week.
    submit(borough, "placement.started", T0 + timedelta(days=4), CHILD,
           {"placement_type": "residential"})
    old, new = clocks("cla-visit", CHILD)
    assert old.status == ClockStatus.STOPPED and old.stopped_by == "placement.started"
    assert new.deadline == deadline_after(T0 + timedelta(days=4), 1, ClockUnit.WEEKS)


# -- health ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("subject", "months"), [(TODDLER, 6), (CHILD, 12)])
def test_review_health_assessment_interval_by_age(
    borough: Borough, subject: dict[str, str], months: int,
) -> None:
    looked_after_from(borough, subject)
    done = T0 + timedelta(days=12)
    submit(borough, "health_assessment.completed", done, subject, {"kind": "initial"},
           agency="nhs-trust")
    [iha] = clocks("iha-20wd", subject)
    assert iha.status == ClockStatus.MET
    [review] = clocks("health-assessment-overdue", subject)
    assert review.deadline == add_months(done, months)
    # A dental check neither meets the review clock nor starts another.
    submit(borough, "health_assessment.completed", done + timedelta(days=30), subject,
           {"kind": "dental"}, agency="nhs-trust")
    assert [c.status for c in clocks("health-assessment-overdue", subject)] == [
        ClockStatus.OPEN]


def test_iha_is_not_met_by_a_review_or_dental_check(borough: Borough) -> None:
    looked_after_from(borough, CHILD)
    submit(borough, "health_assessment.completed", T0 + timedelta(days=2), CHILD,
           {"kind": "dental"}, agency="nhs-trust")
    [iha] = clocks("iha-20wd", CHILD)
    assert iha.status == ClockStatus.OPEN
    [alert] = alerts("iha-20wd", CHILD)
    assert alert.team == borough.teams["health-safeguarding"]  # lac_nurse → health


def test_prescription_for_a_looked_after_child_without_a_recorded_condition(
    borough: Borough,
) -> None:
    looked_after_from(borough, CHILD)
    submit(borough, "prescription.not_collected", T0 + timedelta(days=1), CHILD,
           {"medication": "Lamotrigine"}, agency="nhs-trust")
    assert {a.route for a in alerts("prescription-not-collected", CHILD)} == {
        "gp_liaison", "allocated_worker"}
    # A known child (open MASH contact) with no chronic condition recorded: nothing.
    other = {"given_name": "Kai", "family_name": "Moorcroft", "date_of_birth": "2010-05-15"}
    submit(borough, "contact.received", T0, other, {"narrative": "School concern."})
    submit(borough, "prescription.not_collected", T0 + timedelta(days=1), other,
           {"medication": "Amoxicillin"}, agency="nhs-trust")
    assert alerts("prescription-not-collected", other) == []
    # ...until a chronic condition is recorded.
    submit(borough, "health_condition.recorded", T0 + timedelta(days=2), other,
           {"condition": "Asthma", "medication": "Salbutamol"}, agency="nhs-trust")
    submit(borough, "prescription.not_collected", T0 + timedelta(days=3), other,
           {"medication": "Salbutamol"}, agency="nhs-trust")
    [first, _] = alerts("prescription-not-collected", other)
    assert "Asthma (Salbutamol)" in first.summary


def test_placement_health_info_met_only_by_a_record_with_the_information_shared(
    borough: Borough,
) -> None:
    submit(borough, "health_condition.recorded", T0, CHILD,
           {"condition": "Epilepsy", "medication": "Levetiracetam"}, agency="nhs-trust")
    looked_after_from(borough, CHILD)
    submit(borough, "placement.started", T0 + timedelta(hours=1), CHILD,
           {"placement_type": "foster_care", "provider": "Riverside"})
    [lead, _] = alerts("placement-health-info", CHILD)
    assert "Epilepsy (Levetiracetam)" in lead.summary and "Riverside" in lead.summary
    # A move to another placement, still without it: the first clock is superseded.
    submit(borough, "placement.started", T0 + timedelta(hours=3), CHILD,
           {"placement_type": "residential"})
    submit(borough, "placement.started", T0 + timedelta(hours=4), CHILD,
           {"placement_type": "residential", "health_information_shared": True})
    first, second = clocks("placement-health-info", CHILD)
    assert first.status == ClockStatus.STOPPED
    assert second.status == ClockStatus.MET and second.met_by == "placement.started"


# -- mental capacity -------------------------------------------------------------------------


def test_mca_prompt_once_while_open_and_never_after_an_assessment(borough: Borough) -> None:
    submit(borough, "health_condition.recorded", T0, SEVENTEEN,
           {"condition": "Frontal lobe epilepsy", "affects_decision_making": True},
           agency="nhs-trust")
    looked_after_from(borough, SEVENTEEN)
    # Not a risky decision: a foster placement.
    submit(borough, "placement.started", T0 + timedelta(hours=1), SEVENTEEN,
           {"placement_type": "foster_care"})
    assert alerts("mca-consideration", SEVENTEEN) == []
    submit(borough, "placement.started", T0 + timedelta(days=30), SEVENTEEN,
           {"placement_type": "semi_independent"})
    [prompt] = alerts("mca-consideration", SEVENTEEN)
    assert prompt.kind == AlertKind.PROMPT and prompt.severity == "info"
    assert "moving to semi independent" in prompt.summary
    assert "Frontal lobe epilepsy" in prompt.summary
    submit(borough, "ed.attended", T0 + timedelta(days=31), SEVENTEEN, {"reason": "overdose"},
           agency="nhs-trust")
    assert len(alerts("mca-consideration", SEVENTEEN)) == 1  # one open prompt at a time
    Alert.objects.filter(pk=prompt.pk).update(status=AlertStatus.ACKNOWLEDGED)
    submit(borough, "missing.reported", T0 + timedelta(days=32), SEVENTEEN,
           {"episode_id": "M-1"}, agency="met-police")
    assert len(alerts("mca-consideration", SEVENTEEN)) == 2
    submit(borough, "mca.assessed", T0 + timedelta(days=33), SEVENTEEN,
           {"decision": "where to live", "has_capacity": False})
    Alert.objects.filter(rule_id="mca-consideration").update(status=AlertStatus.ACKNOWLEDGED)
    submit(borough, "cla.ended", T0 + timedelta(days=34), SEVENTEEN, {"reason": "home"})
    assert len(alerts("mca-consideration", SEVENTEEN)) == 2


def test_mca_prompt_stops_at_eighteen(borough: Borough) -> None:
    submit(borough, "health_condition.recorded", T0, SEVENTEEN,
           {"condition": "Epilepsy", "affects_decision_making": True}, agency="nhs-trust")
    submit(borough, "placement.ended", datetime(2025, 11, 4, 12, tzinfo=LONDON), SEVENTEEN)
    assert alerts("mca-consideration", SEVENTEEN) == []  # 18th birthday
    submit(borough, "placement.ended", datetime(2025, 11, 3, 12, tzinfo=LONDON), SEVENTEEN)
    assert len(alerts("mca-consideration", SEVENTEEN)) == 1


# -- death of a looked-after child -----------------------------------------------------------


def test_death_alert_lists_every_holder_of_parental_responsibility(borough: Borough) -> None:
    submit(borough, "cla.started", T0, CHILD, {"legal_status": "s20"},
           related=[{**FATHER, "role": "parent_with_responsibility"}])
    submit(borough, "relationship.recorded", T0 + timedelta(hours=1), CHILD, {"kind": "mother"},
           related=[MOTHER])
    submit(borough, "person.died", T0 + timedelta(days=40), CHILD,
           {"date_of_death": "2025-04-12"}, agency="nhs-trust")
    [alert] = alerts("cla-death-family-notification", CHILD)
    assert alert.severity == "red" and alert.route == "service_manager"
    assert "(s20)" in alert.summary
    assert "Donna Featherstone" in alert.summary and "(mother)" in alert.summary
    assert "Gavin Entwistle" in alert.summary and "parental responsibility" in alert.summary
    [clk] = clocks("cla-death-family-notification", CHILD)
    assert clk.deadline - clk.started_at == timedelta(hours=1)
    assert clk.status == ClockStatus.OPEN  # the death itself does not stop its own clock


def test_death_with_no_parent_recorded_says_so(borough: Borough) -> None:
    looked_after_from(borough, CHILD, status="s31")
    submit(borough, "placement.started", T0, CHILD, {"placement_type": "foster_care"})
    submit(borough, "person.died", T0 + timedelta(days=8), CHILD,
           {"date_of_death": "2025-03-11"}, agency="nhs-trust")
    [alert] = alerts("cla-death-family-notification", CHILD)
    assert "No holder of parental responsibility is recorded" in alert.summary
    # The child's other clocks stop with the death.
    [visit] = clocks("cla-visit", CHILD)
    assert visit.status == ClockStatus.STOPPED and visit.stopped_by == "person.died"


# -- IRO disputes -----------------------------------------------------------------------------


def test_dispute_stage_limits_default_and_local(borough: Borough, settings: Any) -> None:
    looked_after_from(borough, CHILD)
    submit(borough, "iro.dispute_raised", T0, CHILD, {"stage": "formal_2", "dispute_id": "D1"})
    [clk] = clocks("iro-dispute-stage", CHILD)
    assert clk.deadline == add_working_days(T0, 10)
    settings.REACHABLE_CLOCK_LIMITS = {"iro-dispute-stage": {"informal": 2,
                                                             "unit": "working_days"}}
    rule = get_rule("iro-dispute-stage")
    assert rule is not None and rule.effective_clock() is not None
    submit(borough, "iro.dispute_raised", T0, CHILD, {"stage": "informal", "dispute_id": "D2"})
    latest = clocks("iro-dispute-stage", CHILD)[-1]
    assert latest.key == "D2" and latest.deadline == add_working_days(T0, 2)


def test_a_resolution_meets_only_its_own_dispute(borough: Borough) -> None:
    looked_after_from(borough, CHILD)
    submit(borough, "iro.dispute_raised", T0, CHILD, {"stage": "informal", "dispute_id": "D1"})
    submit(borough, "iro.dispute_raised", T0, CHILD, {"stage": "informal", "dispute_id": "D2"})
    submit(borough, "iro.dispute_resolved", T0 + timedelta(days=1), CHILD,
           {"stage": "informal", "dispute_id": "D2"})
    by_key = {c.key: c.status for c in clocks("iro-dispute-stage", CHILD)}
    assert by_key == {"D1": ClockStatus.OPEN, "D2": ClockStatus.MET}
    # Escalating D1 meets its informal clock and starts formal stage 1's.
    submit(borough, "iro.dispute_raised", T0 + timedelta(days=2), CHILD,
           {"stage": "formal_1", "dispute_id": "D1"})
    d1 = [c for c in clocks("iro-dispute-stage", CHILD) if c.key == "D1"]
    assert [c.status for c in d1] == [ClockStatus.MET, ClockStatus.OPEN]
    assert "formal stage 2" in d1[1].label


# -- education and housing -------------------------------------------------------------------


def test_ehe_registration_is_not_itself_a_reason_and_an_unseen_visit_does_not_count(
    borough: Borough,
) -> None:
    submit(borough, "school.ehe_registered", T0, CHILD, {"school": "Northbrook High"},
           agency="education")
    assert alerts("ehe-known-child", CHILD) == []
    other = {"given_name": "Jayden", "family_name": "Kettering", "date_of_birth": "2011-02-14"}
    submit(borough, "youth_justice.order_started", T0, other, {"order": "referral order"})
    submit(borough, "school.ehe_registered", T0 + timedelta(hours=1), other,
           {"school": "Northbrook High"}, agency="education")
    assert {a.route for a in alerts("ehe-known-child", other)} == {
        "ehe", "allocated_worker", "mash"}
    assert "youth justice order" in alerts("ehe-known-child", other)[0].summary
    submit(borough, "school.ehe_visited", T0 + timedelta(days=2), other, {"seen": False},
           agency="education")
    [clk] = clocks("ehe-known-child", other)
    assert clk.status == ClockStatus.OPEN
    submit(borough, "assessment.started", T0 + timedelta(days=3), other)
    clk.refresh_from_db()
    assert clk.status == ClockStatus.MET and clk.met_by == "assessment.started"


def test_school_offer_must_be_for_the_same_application(borough: Borough) -> None:
    submit(borough, "contact.received", T0, CHILD, {"narrative": "Out of school."})
    submit(borough, "school.application_received", T0, CHILD, {"application_id": "A-1"},
           agency="education")
    submit(borough, "school.place_offered", T0 + timedelta(days=2), CHILD,
           {"application_id": "A-2"}, agency="education")
    [clk] = clocks("school-application-delay", CHILD)
    assert clk.status == ClockStatus.OPEN and clk.key == "A-1"
    assert clk.deadline == add_working_days(T0, 20)
    submit(borough, "school.place_offered", T0 + timedelta(days=3), CHILD,
           {"application_id": "A-1"}, agency="education")
    clk.refresh_from_db()
    assert clk.status == ClockStatus.MET
    assert alerts("school-application-delay", CHILD) == []  # alerts only on breach


def test_housing_finds_the_household_children_both_ways_and_on_the_application(
    borough: Borough,
) -> None:
    known_son = {"given_name": "Kyle", "family_name": "Featherstone",
                 "date_of_birth": "2012-03-19"}
    known_named = {"given_name": "Lily", "family_name": "Featherstone",
                   "date_of_birth": "2014-07-02"}
    for child in (CHILD, known_son, known_named):
        submit(borough, "contact.received", T0, child, {"narrative": "Concern."})
    # Recorded the wrong way round (the mother as subject): still her household's child.
    submit(borough, "relationship.recorded", T0, MOTHER, {"kind": "mother"}, related=[known_son])
    # CHILD is linked only as a peer: not the household.
    submit(borough, "relationship.recorded", T0, CHILD, {"kind": "peer"}, related=[MOTHER])
    submit(borough, "housing.application_received", T0 + timedelta(days=1), MOTHER,
           {"application_id": "H-1"}, agency="housing", related=[known_named])
    assert alerts("housing-known-family", CHILD) == []
    assert alerts("housing-known-family", MOTHER) == []
    for child in (known_son, known_named):
        routed = alerts("housing-known-family", child)
        assert {a.route for a in routed} == {"housing_liaison", "allocated_worker"}
        assert "Donna Featherstone" in routed[0].summary
        assert routed[0].team == borough.teams["housing-liaison"]
