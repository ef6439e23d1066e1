"""Reading scenario files: offsets, agency kinds, defaults and the checks that make a file
invalid. No database is needed: the loader only validates."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reachable.scenarios.loader import ScenarioInvalid, load_scenario, parse_duration

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def event(at: str, kind: str, agency: str, record: str, data: str = "{}") -> str:
    return (f"  - at: {at}\n    type: {kind}\n    source: {{agency: {agency}, record: {record}}}\n"
            f"    subject: {{given_name: Ada, family_name: Testperson, "
            f"date_of_birth: 2012-01-01}}\n    data: {data}\n")


def scenario_text(events: str, head: str = "") -> str:
    return (f"name: t\nstart: 2025-03-03T08:00:00+00:00\n{head}people:\n  - ref: child\n"
            f"    given_name: Ada\n    family_name: Testperson\nevents:\n{events}expect: []\n")


@pytest.mark.parametrize(("text", "expected"), [
    ("0h", timedelta(0)),
    ("3d", timedelta(days=3)),
    ("2h", timedelta(hours=2)),
    ("15m", timedelta(minutes=15)),
    ("3h 50m", timedelta(hours=3, minutes=50)),
    ("3d 02:10", timedelta(days=3, hours=2, minutes=10)),
    ("1d 4h 5m", timedelta(days=1, hours=4, minutes=5)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3x", "3d 24:00", "3d 02:60", "h", "5", "-3h", "3h 50"])
def test_malformed_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_offsets_absolute_times_and_default_end(tmp_path: Path) -> None:
    events = (event("+3d 02:10", "custody.booked", "police-notts", "c1", "{force: nottinghamshire}")
              + event("2025-03-07T09:00:00+01:00", "ed.attended", "nhs-trust", "e1",
                      "{reason: assault}"))
    scenario = load_scenario(write(tmp_path, scenario_text(events)))
    assert [s.at for s in scenario.steps] == [
        START + timedelta(days=3, hours=2, minutes=10), datetime(2025, 3, 7, 8, tzinfo=UTC)]
    assert scenario.end == datetime(2025, 3, 14, 8, tzinfo=UTC)
    assert scenario.steps[0].payload is not None
    assert scenario.steps[0].payload["occurred_at"] == "2025-03-06T10:10:00+00:00"


def test_end_is_an_offset_from_start(tmp_path: Path) -> None:
    text = scenario_text(event("+1h", "contact.received", "csc", "r1", "{narrative: worried}"))
    scenario = load_scenario(write(tmp_path, text.replace("people:", "end: +10d\npeople:")))
    assert scenario.end == START + timedelta(days=10)


def test_agency_kinds_follow_the_event_type_unless_declared(tmp_path: Path) -> None:
    events = "".join([
        event("+1h", "custody.booked", "police-notts", "a", "{force: nottinghamshire}"),
        event("+2h", "ed.attended", "nhs-trust", "b", "{reason: assault}"),
        event("+3h", "school.excluded", "st-kits", "c", "{kind: suspension}"),
        event("+4h", "housing.application_received", "homes", "d", "{application_id: H1}"),
        event("+5h", "prescription.not_collected", "chemist", "e", "{medication: inhaler}"),
        event("+6h", "mash.screened", "mash-csc", "f", "{rating: red}"),
        event("+7h", "missing.reported", "met-police", "g", "{episode_id: M1}"),
    ])
    head = "area:\n  agencies:\n    met-police: {kind: police, police_force: met}\n"
    scenario = load_scenario(write(tmp_path, scenario_text(events, head)))
    kinds = {code: (a.kind, a.police_force) for code, a in scenario.agencies.items()}
    assert kinds == {
        "police-notts": ("police", "nottinghamshire"), "nhs-trust": ("health", ""),
        "st-kits": ("school", ""), "homes": ("housing", ""), "chemist": ("pharmacy", ""),
        "mash-csc": ("csc", ""), "met-police": ("police", "met"),
    }
    assert scenario.teams["mash"] == "mash"  # the golden-hour route exists in every replay


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(write(tmp_path, text))
    return caught.value.render().splitlines()


def test_events_out_of_order_and_reused_records_are_invalid(tmp_path: Path) -> None:
    events = (event("+2h", "contact.received", "csc", "r1", "{narrative: first}")
              + event("+1h", "contact.received", "csc", "r1", "{narrative: changed}"))
    found = problems(tmp_path, scenario_text(events))
    assert any("events[1].at: events must be in time order; this one is before the one at "
               "line 8" in p for p in found)
    assert any("events[1].source.record: record 'r1' of 'csc' was already used for a "
               "different event" in p for p in found)


def test_unknown_team_needs_declaring(tmp_path: Path) -> None:
    events = (event("+1h", "custody.booked", "met-police", "c1", "{force: met}")
              + "  - at: +2h\n    type: ack\n    alert: {rule: golden-hour, for: child}\n"
                "    by: night-duty\n")
    found = problems(tmp_path, scenario_text(events))
    assert len(found) == 1
    assert found[0].endswith("events[1].by: team 'night-duty' is not a team kind (mash, "
                             "social_work, iro, exploitation, missing, ehe, housing_liaison, "
                             "gp_liaison, police, health, education, partnership, "
                             "information_governance, systems); declare its kind under "
                             "area.teams")
    head = "area:\n  teams: {night-duty: mash}\n"
    assert load_scenario(write(tmp_path, scenario_text(events, head))).teams["night-duty"] == (
        "mash")


def test_a_clock_expectation_needs_a_rule_with_a_clock_and_a_status(tmp_path: Path) -> None:
    text = scenario_text(event("+1h", "custody.booked", "met-police", "c1", "{force: met}"))
    text = text.replace("expect: []", "expect:\n  - clock: golden-hour\n    for: child\n"
                                      "    nth: 0\n")
    found = problems(tmp_path, text)
    assert [p.split(": ", 1)[1] for p in found] == [
        "expect[0].status: missing", "expect[0].nth: expected a whole number from 1"]


def test_event_in_the_future_of_its_own_time_is_caught(tmp_path: Path) -> None:
    # A date of birth after the event is refused by the same validation as the API.
    text = scenario_text(event("+1h", "custody.booked", "met-police", "c1", "{force: met}"))
    text = text.replace("date_of_birth: 2012-01-01}", "date_of_birth: 2025-06-01}")
    found = problems(tmp_path, text)
    assert any("events[0].subject.date_of_birth: This date is in the future." in p
               for p in found)
