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

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from reachable.rules.models import Clock, ClockStatus

LIVE = (ClockStatus.OPEN, ClockStatus.PAUSED)
_cache: ContextVar[dict[int, list[Clock]] | None] = ContextVar("live_clocks", default=None)


@contextmanager
def clocks_batched() -> Iterator[None]:
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def clocks_prefetch(person_ids: Iterable[int]) -> None:
    """Read the live clocks of many people at once (inside ``clocks_batched``; else nothing)."""
    cache = _cache.get()
    if cache is None:
        return
    wanted = [pk for pk in set(person_ids) if pk not in cache]
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        for pk in chunk:
            cache[pk] = []
        for clk in Clock.objects.filter(person_id__in=chunk, status__in=LIVE):
            cache[clk.person_id].append(clk)


def clocks_none_yet(person_id: int) -> None:
    """The person was created in this transaction: no clocks to read."""
    cache = _cache.get()
    if cache is not None:
        cache.setdefault(person_id, [])


def live_clocks(person_id: int) -> list[Clock]:
    """The person's open and paused clocks, oldest first."""
    cache = _cache.get()
    if cache is None:
        return list(Clock.objects.filter(person_id=person_id, status__in=LIVE))
    if person_id not in cache:
        clocks_prefetch([person_id])
    live = [clk for clk in cache[person_id] if clk.status in LIVE]
    cache[person_id] = live  # what has ended drops out; the same objects stay
    return sorted(live, key=lambda clk: (clk.started_at, clk.pk))


def clock_started(clk: Clock) -> None:
    """A clock the engine has just started (perhaps still held: ``core.held``)."""
    cache = _cache.get()
    if cache is not None and clk.person_id in cache:
        cache[clk.person_id].append(clk)
