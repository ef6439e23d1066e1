"""A person's running and paused clocks, read once per batch and then kept in memory.

Every event of a type that closes, stops, pauses or resumes clocks needs the person's live
clocks, and several rules ask whether one is already running. Within ``clocks_batched`` (one
transaction of many events) they are read for all the batch's people in one query; the engine
adds each clock it starts and changes the status of the ones it closes in memory as well as in
the database, so later events in the batch see them as the database would. Outside a batch
every call reads the database.

Only intake's engine writes clocks inside a batch. The sweep, running in another transaction,
may breach one meanwhile; every status change the engine makes is a conditional UPDATE, so the
sweep's change stands either way, as it would without the cache.
"""

from __future__ import annotations

from reachable.core.person_rows import PersonRows
from reachable.core.sql import instances_where_in
from reachable.rules.models import Clock, ClockStatus

LIVE = (ClockStatus.OPEN, ClockStatus.PAUSED)


def _live_of(person_ids: list[int]) -> list[Clock]:
    """The open and paused clocks of these people, in the model's order (started, id)."""
    return sorted(instances_where_in(Clock, "person", person_ids, where={"status": LIVE}),
                  key=lambda clk: (clk.started_at, clk.pk))


_clocks: PersonRows[Clock] = PersonRows("live_clocks", _live_of, lambda clk: clk.person_id)

clocks_batched = _clocks.batched
clocks_prefetch = _clocks.prefetch  # the live clocks of many people at once
clocks_none_yet = _clocks.none_yet


def live_clocks(person_id: int) -> list[Clock]:
    """The person's open and paused clocks, oldest first."""
    cached = _clocks.cached(person_id)
    if cached is None:
        return _live_of([person_id])
    live = [clk for clk in cached if clk.status in LIVE]
    _clocks.put(person_id, live)  # what has ended drops out; the same objects stay
    return sorted(live, key=lambda clk: (clk.started_at, clk.pk))


def clock_started(clk: Clock) -> None:
    """A clock the engine has just started (perhaps still held: ``core.held``)."""
    rows = _clocks.known(clk.person_id)
    if rows is not None:
        rows.append(clk)
