"""Working time for statutory clocks: clock hours, working hours and working days, with
England & Wales bank holidays from the ``holidays`` package (offline data), and the calendar
units statutory guidance uses (days, weeks, months). Working hours are configuration
(``REACHABLE_WORKING_HOURS``, default 09:00-17:00)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

LONDON = ZoneInfo("Europe/London")
WORKDAY_START = time(9, 0)
WORKDAY_END = time(17, 0)


class ClockUnit(StrEnum):
    CLOCK_HOURS = "clock_hours"
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"
    # Term dates differ by school and are not held, so a school day is a working day.
    SCHOOL_DAYS = "school_days"
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


def working_hours() -> tuple[time, time]:
    configured = getattr(settings, "REACHABLE_WORKING_HOURS", None)
    if not configured:
        return WORKDAY_START, WORKDAY_END
    start, end = (time.fromisoformat(v) for v in configured)
    return start, end


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
    day_start, day_end = working_hours()
    while True:
        day = cursor.date()
        open_at = datetime.combine(day, day_start, LONDON)
        close_at = datetime.combine(day, day_end, LONDON)
        if not is_working_day(day) or cursor >= close_at:
            cursor = datetime.combine(day + timedelta(days=1), day_start, LONDON)
            continue
        cursor = max(cursor, open_at)
        available = close_at - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = datetime.combine(day + timedelta(days=1), day_start, LONDON)


def add_months(start: datetime, months: int) -> datetime:
    """The same local day and time ``months`` later (the last day if the month is shorter)."""
    local = start.astimezone(LONDON)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = local.day
    while True:
        try:
            return datetime.combine(date(year, month, day), local.timetz().replace(tzinfo=None),
                                    LONDON)
        except ValueError:
            day -= 1


def deadline_after(start: datetime, amount: float, unit: ClockUnit | str) -> datetime:
    unit = ClockUnit(unit)
    if unit == ClockUnit.CLOCK_HOURS:
        return start + timedelta(hours=amount)
    if unit == ClockUnit.WORKING_HOURS:
        return add_working_hours(start, amount)
    if unit in (ClockUnit.WORKING_DAYS, ClockUnit.SCHOOL_DAYS):
        return add_working_days(start, int(amount))
    local = start.astimezone(LONDON)
    if unit == ClockUnit.DAYS:  # calendar days keep local wall time across clock changes
        return datetime.combine(local.date() + timedelta(days=int(amount)),
                                local.timetz().replace(tzinfo=None), LONDON)
    if unit == ClockUnit.WEEKS:
        return datetime.combine(local.date() + timedelta(weeks=int(amount)),
                                local.timetz().replace(tzinfo=None), LONDON)
    return add_months(start, int(amount))


WORKING_UNITS = frozenset({ClockUnit.WORKING_HOURS, ClockUnit.WORKING_DAYS,
                           ClockUnit.SCHOOL_DAYS})


def working_time_between(start: datetime, end: datetime) -> timedelta:
    """How much working time (working hours on working days) lies between two moments."""
    day_start, day_end = working_hours()
    first, last = start.astimezone(LONDON).date(), end.astimezone(LONDON).date()
    total = timedelta(0)
    day = first
    while day <= last:
        if is_working_day(day):
            opened = max(start, datetime.combine(day, day_start, LONDON))
            closed = min(end, datetime.combine(day, day_end, LONDON))
            if closed > opened:
                total += closed - opened
        day += timedelta(days=1)
    return total


def escalation_point(start: datetime, deadline: datetime, fraction: float,
                     unit: ClockUnit | str | None = None) -> datetime:
    """The moment ``fraction`` of the clock has elapsed: of wall time, or, for a clock counted
    in working time, of the working time between the two, so that a manager is told during
    working hours (not at 06:00 on a bank holiday)."""
    if unit is not None and ClockUnit(unit) in WORKING_UNITS:
        worked = working_time_between(start, deadline)
        if worked > timedelta(0):
            return add_working_hours(start, worked.total_seconds() / 3600 * fraction)
    return start + (deadline - start) * fraction
