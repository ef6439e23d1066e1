"""Working time for statutory clocks: England & Wales bank holidays, weekends, 09:00-17:00."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reachable.rules.calendar import (
    ClockUnit,
    add_working_days,
    add_working_hours,
    deadline_after,
    escalation_point,
    is_working_day,
)

LONDON = ZoneInfo("Europe/London")


def london(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


@pytest.mark.parametrize(
    "day",
    ["2025-12-25", "2025-12-26", "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05",
     "2025-05-26", "2025-08-25", "2026-12-25", "2026-12-28",  # Boxing Day 2026 substitute
     "2025-03-08", "2025-03-09"],  # a weekend
)
def test_not_working_days(day: str) -> None:
    assert not is_working_day(date.fromisoformat(day))


@pytest.mark.parametrize(
    "day",
    ["2025-12-24", "2025-12-29", "2025-03-07", "2025-03-10",
     "2025-01-02",  # a Scottish bank holiday only
     "2025-12-01",  # St Andrew's Day (Scotland) is a working day in England
     "2025-03-17"],  # St Patrick's Day (Northern Ireland)
)
def test_working_days(day: str) -> None:
    assert is_working_day(date.fromisoformat(day))


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2025-03-05T10:00", 1, "2025-03-06T10:00"),  # Wed -> Thu
        ("2025-03-07T15:00", 1, "2025-03-10T15:00"),  # Fri -> Mon
        ("2025-03-08T11:00", 1, "2025-03-10T11:00"),  # Sat -> Mon
        ("2025-12-24T10:00", 1, "2025-12-29T10:00"),  # Christmas, Boxing Day, weekend
        ("2025-12-23T10:00", 2, "2025-12-29T10:00"),
        ("2025-04-17T09:30", 1, "2025-04-22T09:30"),  # Easter
        ("2025-03-03T09:00", 5, "2025-03-10T09:00"),
        ("2025-03-03T09:00", 0, "2025-03-03T09:00"),
    ],
)
def test_add_working_days(start: str, days: int, expected: str) -> None:
    assert add_working_days(london(start), days) == london(expected)


def test_forty_five_working_days_skips_easter_and_may_bank_holidays() -> None:
    # 45 working days from Mon 3 Mar 2025, counted by hand:
    # March 4-31 = 20, April 1-30 = 22 minus Good Friday and Easter Monday = 20 (40 so far),
    # May 1, 2, 6, 7, 8 (5 May is a bank holiday) = 45.
    assert add_working_days(london("2025-03-03T10:00"), 45) == london("2025-05-08T10:00")


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        ("2025-03-05T10:00", 2, "2025-03-05T12:00"),
        ("2025-03-05T07:00", 2, "2025-03-05T11:00"),  # before opening: counts from 09:00
        ("2025-03-05T18:00", 2, "2025-03-06T11:00"),  # after closing: from next morning
        ("2025-03-07T16:00", 4, "2025-03-10T12:00"),  # Fri 1h + Mon 3h
        ("2025-03-08T12:00", 1, "2025-03-10T10:00"),  # Saturday
        ("2025-03-05T09:00", 8, "2025-03-05T17:00"),  # exactly one working day
        ("2025-03-05T09:00", 24, "2025-03-07T17:00"),
        ("2025-12-24T16:00", 2, "2025-12-29T10:00"),
        ("2025-03-05T16:30", 0.5, "2025-03-05T17:00"),
    ],
)
def test_add_working_hours(start: str, hours: float, expected: str) -> None:
    assert add_working_hours(london(start), hours) == london(expected)


def test_working_hours_are_local_across_the_clock_change() -> None:
    # Friday 28 March 2025 is GMT; Monday 31 March is BST. Working hours are London wall time.
    deadline = add_working_hours(datetime(2025, 3, 28, 16, 0, tzinfo=ZoneInfo("UTC")), 2)
    assert deadline == london("2025-03-31T10:00")
    assert deadline.astimezone(ZoneInfo("UTC")).hour == 9


def test_working_hours_accept_utc_input() -> None:
    start = datetime(2025, 6, 2, 8, 30, tzinfo=ZoneInfo("UTC"))  # 09:30 BST
    assert add_working_hours(start, 1) == london("2025-06-02T10:30")


def test_deadline_after_in_each_unit() -> None:
    start = london("2025-03-07T16:00")
    assert deadline_after(start, 1, ClockUnit.CLOCK_HOURS) == start + timedelta(hours=1)
    assert deadline_after(start, 48, ClockUnit.CLOCK_HOURS) == london("2025-03-09T16:00")
    assert deadline_after(start, 4, ClockUnit.WORKING_HOURS) == london("2025-03-10T12:00")
    assert deadline_after(start, 1, ClockUnit.WORKING_DAYS) == london("2025-03-10T16:00")


def test_escalation_point_is_the_elapsed_fraction() -> None:
    start = london("2025-03-05T10:00")
    assert escalation_point(start, start + timedelta(hours=1), 0.75) == london(
        "2025-03-05T10:45")
    assert escalation_point(start, start + timedelta(hours=4), 0.5) == london("2025-03-05T12:00")
