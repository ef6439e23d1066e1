"""Plain-words presentation helpers shared by views and templates (no data access here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reachable.core import clock
from reachable.intake.vocabulary import EVENT_TYPES


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def duration_words(delta: timedelta) -> str:
    """``1 hour 4 minutes 3 seconds``. Mirrors ``static/web/countdown.js`` exactly, so the
    server-rendered text and the ticking text never disagree."""
    total = int(abs(delta.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_plural(days, "day"))
    if hours:
        parts.append(_plural(hours, "hour"))
    if minutes:
        parts.append(_plural(minutes, "minute"))
    if not days and (seconds or not parts):
        parts.append(_plural(seconds, "second"))
    return " ".join(parts)


def remaining_words(deadline: datetime, now: datetime | None = None) -> tuple[str, bool]:
    """The time left before ``deadline`` in words, and whether it has passed."""
    delta = deadline - (now or clock.now())
    if delta.total_seconds() <= 0:
        return f"Overdue by {duration_words(delta)}", True
    return f"{duration_words(delta)} left", False


def event_label(event_type: str) -> str:
    """``custody.booked`` -> ``Custody booked``: an event type in plain words."""
    words = event_type.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def event_summary(event_type: str) -> str:
    known = EVENT_TYPES.get(event_type)
    return known.summary if known else ""


def field_label(name: str) -> str:
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def value_text(value: Any) -> str:
    if value is None or value == "":
        return "Not given"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{field_label(str(k))}: {value_text(v)}" for k, v in value.items())
    return str(value)


@dataclass(frozen=True)
class NavItem:
    text: str
    href: str
    current: bool
