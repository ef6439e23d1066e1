"""Working time for statutory clocks: clock hours, working hours and working days, with
England & Wales bank holidays from the ``holidays`` package (offline data)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
WORKDAY_START = time(9, 0)
WORKDAY_END = time(17, 0)


class ClockUnit(StrEnum):
    CLOCK_HOURS = "clock_hours"
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: datetime, days: int) -> datetime:
    """``days`` working days after ``start``: the same local time on the Nth working day."""
    local = start.astimezone(LONDON)
    current = local.date()
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return datetime.combine(current, local.timetz().replace(tzinfo=None), LONDON)


def add_working_hours(start: datetime, hours: float) -> datetime:
    """Count only time inside working hours on working days."""
    local = start.astimezone(LONDON)
    remaining = timedelta(hours=hours)
    cursor = local
    while True:
        day = cursor.date()
        open_at = datetime.combine(day, WORKDAY_START, LONDON)
        close_at = datetime.combine(day, WORKDAY_END, LONDON)
        if not is_working_day(day) or cursor >= close_at:
            cursor = datetime.combine(day + timedelta(days=1), WORKDAY_START, LONDON)
            continue
        cursor = max(cursor, open_at)
        available = close_at - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = datetime.combine(day + timedelta(days=1), WORKDAY_START, LONDON)


def deadline_after(start: datetime, amount: float, unit: ClockUnit) -> datetime:
    if unit == ClockUnit.CLOCK_HOURS:
        return start + timedelta(hours=amount)
    if unit == ClockUnit.WORKING_HOURS:
        return add_working_hours(start, amount)
    return add_working_days(start, int(amount))


def escalation_point(start: datetime, deadline: datetime, fraction: float) -> datetime:
    """The moment ``fraction`` of the clock has elapsed (elapsed wall time between the two)."""
    return start + (deadline - start) * fraction
