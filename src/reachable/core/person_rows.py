"""Each person's rows of one kind, read once per batch and then kept current in memory.

Intake's batch door asks, event after event, for a person's live flags or live clocks. Inside
``batched()`` (one transaction of many events) they are read for all the batch's people in a
query per thousand people, and the one writer of those rows inside a batch (derived state for
flags, the rule engine for clocks) keeps the cached list current, so later events see what the
database would show. Outside a batch, ``cached`` answers ``None`` and the caller reads the
database itself. ``childstate.state`` and ``rules.live_clocks`` each keep one of these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

_R = TypeVar("_R")
CHUNK = 1000


class PersonRows(Generic[_R]):
    def __init__(self, name: str, read: Callable[[list[int]], Iterable[_R]],
                 person_of: Callable[[_R], int]) -> None:
        self._rows: ContextVar[dict[int, list[_R]] | None] = ContextVar(name, default=None)
        self._read = read  # the rows of these people, in the order callers expect
        self._person_of = person_of

    @contextmanager
    def batched(self) -> Iterator[None]:
        token = self._rows.set({})
        try:
            yield
        finally:
            self._rows.reset(token)

    def prefetch(self, person_ids: Iterable[int]) -> None:
        """Read the rows of many people at once (inside ``batched``; else nothing)."""
        cache = self._rows.get()
        if cache is None:
            return
        wanted = [pk for pk in set(person_ids) if pk not in cache]
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            for pk in chunk:
                cache[pk] = []
            for row in self._read(chunk):
                cache[self._person_of(row)].append(row)

    def none_yet(self, person_id: int) -> None:
        """The person was created in this transaction: nothing to read."""
        cache = self._rows.get()
        if cache is not None:
            cache.setdefault(person_id, [])

    def cached(self, person_id: int) -> list[_R] | None:
        """The person's list (read now if this batch has not yet), or ``None`` outside a
        batch. The writer may change the list in place or ``put`` a new one."""
        cache = self._rows.get()
        if cache is None:
            return None
        if person_id not in cache:
            self.prefetch([person_id])
        return cache[person_id]

    def known(self, person_id: int) -> list[_R] | None:
        """The person's list if this batch already holds it (a writer's view: a person not
        yet read needs no update, their rows will be read with the change in them)."""
        cache = self._rows.get()
        return None if cache is None else cache.get(person_id)

    def put(self, person_id: int, rows: list[_R]) -> None:
        cache = self._rows.get()
        if cache is not None:
            cache[person_id] = rows
