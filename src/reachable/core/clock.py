"""The platform's idea of "now".

Clocks, deadlines and "recorded at" stamps all read the time from here, so that a scenario
replay can run a child's story in simulated time through exactly the production code.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_simulated_now: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "reachable_simulated_now", default=None
)


def now() -> datetime:
    """The current time (aware, UTC): real, or the simulated time of a replay.

    ``datetime.now(UTC)`` is ``timezone.now()`` with ``USE_TZ`` on, which the settings fix;
    it is asked a few times per event, and reading the setting each time cost more than this.
    """
    simulated = _simulated_now.get()
    return simulated if simulated is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Run a block as if the time were ``moment`` (replays and tests)."""
    token = _simulated_now.set(moment)
    try:
        yield
    finally:
        _simulated_now.reset(token)


def set_simulated_now(moment: datetime | None) -> None:
    """Move simulated time (replay only); ``None`` returns to real time."""
    _simulated_now.set(moment)
