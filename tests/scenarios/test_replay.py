"""``reachable replay``: the shipped scenarios pass, failures and invalid files are reported
as ``scenarios.md`` says (exit 0 / 1 / 2, one JSON report per scenario)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from reachable.rules.registry import all_rules
from tests.scenarios.conftest import SCENARIO_DIR, Replayed

Replay = Callable[..., Replayed]
Write = Callable[[str, str], Path]

SHIPPED = sorted(SCENARIO_DIR.rglob("*.yaml"))
RULE_SCENARIOS = SCENARIO_DIR / "rules"  # one or more per rule: rules/<rule-id>[-story].yaml
GOLDEN_HOUR = sorted(RULE_SCENARIOS.glob("golden-hour-*.yaml"))
REPORT_KEYS = {"scenario", "passed", "expectations", "unexpected_alerts", "people", "events",
               "alerts", "clocks"}

CHILD_IN_CUSTODY = """
name: {name}
start: 2025-03-03T08:00:00+00:00
people:
  - ref: child
    given_name: Lena
    family_name: Exampleton
    date_of_birth: 2012-04-02
  - ref: adult1
    given_name: Mark
    family_name: Sampleford
    date_of_birth: 1990-01-01
events:
  - at: +1h
    type: custody.booked
    source: {{agency: met-police, record: cust-1}}
    subject: {{given_name: Lena, family_name: Exampleton, date_of_birth: 2012-04-02}}
    data: {{force: met, station: Brixton}}
{more_events}
expect:
{expect}
"""


def line_of(path: Path, marker: str) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, text in enumerate(lines, start=1) if marker in text)


def story(name: str = "Test story", *, more_events: str = "", expect: str) -> str:
    return CHILD_IN_CUSTODY.format(name=name, more_events=more_events, expect=expect)


def test_scenarios_are_shipped() -> None:
    assert {p.stem for p in GOLDEN_HOUR} == {
        "golden-hour-met", "golden-hour-breached", "golden-hour-misspelt-subject",
        "golden-hour-adults-not-alerted"}
    # Every file under scenarios/rules/ is named after the rule it shows.
    ids = {rule.id for rule in all_rules()}
    misnamed = [p.name for p in sorted(RULE_SCENARIOS.glob("*.yaml"))
                if not any(p.stem == i or p.stem.startswith(f"{i}-") for i in ids)]
    assert misnamed == []


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_passes(replay: Replay, path: Path) -> None:
    result = replay(path)
    assert result.status == 0, result.stderr or result.reports
    report = result.report
    assert report["passed"] is True
    unmet = [e for e in report["expectations"] if not e["met"]]
    assert unmet == []
    assert all(re.fullmatch(r"P-\d{6}", ref) for ref in report["people"].values())


def test_report_shape_matches_the_brief(replay: Replay) -> None:
    report = replay(RULE_SCENARIOS / "golden-hour-met.yaml").report
    assert set(report) == REPORT_KEYS
    assert report["scenario"].startswith("Golden hour met")
    assert report["events"] == 3
    assert report["alerts"] == 1
    assert report["clocks"] == {"met": 1, "breached": 0, "open": 0}
    assert report["people"] == {"child": "P-000001"}
    assert report["unexpected_alerts"] == []
    first = report["expectations"][0]
    assert set(first) == {"expect", "met", "detail"}
    assert first["expect"] == {"alert": "golden-hour", "for": "child", "route": "mash",
                               "within": "5m"}
    assert first["detail"] == "raised 0m after custody.booked at 2025-03-06T10:10:00+00:00"


def test_several_files_print_one_line_each(replay: Replay) -> None:
    # Each shipped file is replayed on its own above; here a few are enough to show the format.
    result = replay(*GOLDEN_HOUR)
    assert result.status == 0
    assert [r["passed"] for r in result.reports] == [True] * len(GOLDEN_HOUR)
    assert len({r["scenario"] for r in result.reports}) == len(GOLDEN_HOUR)


def test_breach_escalates_at_75_percent_then_breaches(replay: Replay) -> None:
    report = replay(RULE_SCENARIOS / "golden-hour-breached.yaml").report
    clock = report["expectations"][1]
    assert clock["met"] is True
    # booked 19:30, escalated at 75 % of the hour, breached at the deadline
    assert "escalated to the manager at 2025-03-10T20:15:00+00:00" in clock["detail"]
    assert "breached at 2025-03-10T20:30:00+00:00" in clock["detail"]
    assert report["clocks"] == {"met": 0, "breached": 1, "open": 0}


def test_unmet_expectations_fail_with_useful_detail(replay: Replay, write_scenario: Write) -> None:
    path = write_scenario("failing.yaml", story(expect="""
  - clock: golden-hour
    for: child
    status: met
  - no_alert: golden-hour
    for: child
  - alert: golden-hour
    for: child
    route: exploitation
  - person_count: 2
"""))
    result = replay(path)
    assert result.status == 1
    report = result.report
    assert report["passed"] is False
    clock, no_alert, routed, count = report["expectations"]
    assert clock["met"] is False
    assert "expected met" in clock["detail"] and "breached at 2025-03-03T10:00:00+00:00" in (
        clock["detail"])
    assert no_alert["met"] is False
    assert "golden-hour fired 1 time(s) for child (P-000001)" in no_alert["detail"]
    assert routed["met"] is False
    assert "routed to mash (mash), not exploitation" in routed["detail"]
    assert count["met"] is False and count["detail"].startswith("1 person held")


def test_ack_at_the_deadline_meets_the_clock_a_minute_later_does_not(
    replay: Replay, write_scenario: Write
) -> None:
    on_time = write_scenario("on-time.yaml", story("On time", more_events="""
  - at: +2h
    type: ack
    alert: {rule: golden-hour, for: child}
    by: mash
""", expect="""
  - clock: golden-hour
    for: child
    status: met
    escalated: true
"""))
    late = write_scenario("late.yaml", story("Late", more_events="""
  - at: +2h 1m
    type: ack
    alert: {rule: golden-hour, for: child}
    by: mash
""", expect="""
  - clock: golden-hour
    for: child
    status: met
"""))
    result = replay(on_time, late)
    assert result.status == 1
    on_time_report, late_report = result.reports
    assert on_time_report["passed"] is True
    assert "met at 2025-03-03T10:00:00+00:00 by ack (1h after start)" in (
        on_time_report["expectations"][0]["detail"])
    assert late_report["passed"] is False
    assert "breached at 2025-03-03T10:00:00+00:00" in late_report["expectations"][0]["detail"]


def test_unnamed_alerts_are_listed_but_do_not_fail(replay: Replay, write_scenario: Write) -> None:
    path = write_scenario("noise.yaml", story(expect="""
  - no_alert: golden-hour
    for: adult1
"""))
    result = replay(path)
    report = result.report
    # adult1 never appears in an event: the platform holds no one matching them
    assert report["people"] == {"child": "P-000001", "adult1": None}
    assert result.status == 1
    assert "holds no one matching 'adult1'" in report["expectations"][0]["detail"]
    assert report["unexpected_alerts"] == [
        {"rule": "golden-hour", "for": "child", "at": "2025-03-03T09:00:00+00:00"}
    ]


def test_an_action_that_cannot_be_done_fails_the_scenario(
    replay: Replay, write_scenario: Write
) -> None:
    path = write_scenario("adult-ack.yaml", story(more_events="""
  - at: +2h
    type: custody.booked
    source: {agency: met-police, record: cust-2}
    subject: {given_name: Mark, family_name: Sampleford, date_of_birth: 1990-01-01}
    data: {force: met}
  - at: +2h 10m
    type: ack
    alert: {rule: golden-hour, for: adult1}
    by: mash
""", expect="""
  - alert: golden-hour
    for: child
"""))
    result = replay(path)
    assert result.status == 1
    failure = result.report["expectations"][-1]
    assert failure["met"] is False
    assert failure["expect"]["ack"] == {"rule": "golden-hour", "for": "adult1"}
    assert "no open golden-hour alert for adult1 (P-000002)" in failure["detail"]
    assert failure["detail"].startswith("line ")


def test_misspelt_subject_without_a_shared_identifier_is_two_people(
    replay: Replay, write_scenario: Write
) -> None:
    # The deterministic resolver cannot join "Tomek" to "Tomasz" without an identifier; the
    # replay says so through person_count and still maps the child through the events.
    path = write_scenario("split.yaml", """
        name: Split identity
        start: 2025-03-03T08:00:00+00:00
        people:
          - ref: child
            given_name: Tomasz
            family_name: Nowak
            date_of_birth: 2011-07-19
        events:
          - at: +0h
            type: custody.booked
            source: {agency: police-notts, record: c-1}
            subject: {given_name: Tomek, family_name: Nowak, date_of_birth: 2011-07-19}
            data: {force: nottinghamshire}
          - at: +1d
            type: ed.attended
            source: {agency: nhs-trust, record: ed-1}
            subject: {given_name: Tomasz, family_name: Nowack, date_of_birth: 2011-07-19}
            data: {reason: assault}
        expect:
          - alert: golden-hour
            for: child
          - person_count: 1
    """)
    result = replay(path)
    report = result.report
    assert result.status == 1
    alert, count = report["expectations"]
    assert alert["met"] is True  # the child was matched through the custody event's subject
    assert report["people"] == {"child": "P-000001"}
    assert count["met"] is False
    assert count["detail"] == ("2 people held: P-000001 Tomek Nowak = child, "
                               "P-000002 Tomasz Nowack")


def test_area_settings_are_restored_after_the_replay(
    replay: Replay, write_scenario: Write
) -> None:
    before = settings.REACHABLE_HOME_POLICE_FORCE
    path = write_scenario("area.yaml", story(expect="  - person_count: 1").replace(
        "start:", "area: {home_police_force: west-midlands}\nstart:"))
    assert replay(path).status == 0
    assert before == settings.REACHABLE_HOME_POLICE_FORCE


# case -> (extra event, text on the line the message must name, message)
INVALID = {
    "bad offset": ("  - at: +3x", "+3x", "events[1].at: bad offset '+3x'"),
    "unknown event type": ("  - at: +2h\n    type: custody.bookd", "custody.bookd",
                           "events[1].type: unknown event type 'custody.bookd'"),
    "missing people ref": ("  - at: +2h\n    type: ack\n    alert: {rule: golden-hour, "
                           "for: kid}\n    by: mash", "for: kid",
                           "events[1].alert.for: no one with ref 'kid' in people"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_event_names_file_line_and_problem(replay: Replay, write_scenario: Write,
                                                    case: str) -> None:
    event, marker, message = INVALID[case]
    path = write_scenario("bad.yaml", story(more_events=event, expect="  - person_count: 1"))
    line = line_of(path, marker)
    result = replay(path)
    assert result.status == 2
    assert result.reports == []
    assert f"{path}:{line}: {message}" in result.stderr


def test_unknown_rule_id_is_invalid(replay: Replay, write_scenario: Write) -> None:
    path = write_scenario("bad-rule.yaml", story(expect="  - alert: golden-hours\n    for: child"))
    result = replay(path)
    assert result.status == 2
    line = line_of(path, "golden-hours")
    assert f"{path}:{line}: expect[0].alert: unknown rule id 'golden-hours'" in result.stderr


def test_payload_errors_are_reported_at_their_line(replay: Replay, write_scenario: Write) -> None:
    path = write_scenario("bad-data.yaml", story(expect="  - person_count: 1").replace(
        "data: {force: met, station: Brixton}", "data:\n      station: Brixton"))
    result = replay(path)
    assert result.status == 2
    line = line_of(path, "data:")
    assert f"{path}:{line}: events[0].data.force: This field is required." in result.stderr


def test_yaml_syntax_error_names_the_line(replay: Replay, write_scenario: Write) -> None:
    path = write_scenario("syntax.yaml", "name: x\nstart: 2025-03-03T08:00:00+00:00\nevents:\n"
                                "  - at: +0h\n    type: [unclosed\n  - at: +1h\n")
    result = replay(path)
    assert result.status == 2
    assert re.search(rf"{re.escape(str(path))}:\d+: YAML syntax error: .*flow sequence "
                     r"\(from line 5\)", result.stderr)


def test_one_invalid_file_stops_the_run_before_anything_replays(
    replay: Replay, write_scenario: Write
) -> None:
    bad = write_scenario("bad.yaml", "name: x\n")
    result = replay(RULE_SCENARIOS / "golden-hour-met.yaml", bad)
    assert result.status == 2
    assert result.reports == []
    assert f"{bad}:1: 'start' is missing" in result.stderr
    assert f"{bad}:1: 'events' is missing" in result.stderr


def test_ack_takes_the_acknowledging_teams_alert_when_a_rule_routes_to_two_teams(
    replay: Replay, write_scenario: Write
) -> None:
    """``health-assessment-overdue`` alerts the LAC nurse (health) and the IRO at once; the
    health team's ``ack`` must take its own alert, not the IRO's (the newer by id)."""
    path = write_scenario("two-routes.yaml", """
name: Two routes, one acknowledgement
start: 2025-03-03T08:00:00+00:00
end: +400d
area:
  agencies:
    lac-health: health
people:
  - ref: child
    given_name: Erin
    family_name: Blackmore
    date_of_birth: 2014-09-29
    sex: F
events:
  - at: +0h
    type: cla.started
    source: {agency: csc, record: cla-802}
    subject: {given_name: Erin, family_name: Blackmore, date_of_birth: 2014-09-29}
    data: {legal_status: s31}
  - at: +11d 02:00
    type: health_assessment.completed
    source: {agency: lac-health, record: ha-802-i}
    subject: {given_name: Erin, family_name: Blackmore, date_of_birth: 2014-09-29}
    data: {kind: initial}
  - at: +390d
    type: ack
    alert: {rule: health-assessment-overdue, for: child}
    by: health
expect:
  - alert: health-assessment-overdue
    for: child
    route: health
  - alert: health-assessment-overdue
    for: child
    route: iro
""")
    result = replay(path)
    assert result.report["passed"] is True, result.report
    assert result.status == 0
