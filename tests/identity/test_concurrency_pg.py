"""Identity resolution and merges under concurrency, on PostgreSQL: two connections at once.

One transaction is held open at a chosen point while a second starts; the test then checks
whether the second waited for the first and what it decided once it could go on. (SQLite
starts every transaction IMMEDIATE, one writer at a time, so these run on PostgreSQL only.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from reachable.chronology.models import Event
from reachable.core import clock
from reachable.identity.batch import COLUMNS, BatchLinker
from reachable.intake.services import event_submit
from reachable.mpi.services import person_merge
from reachable.people.models import Person
from tests.borough import (
    SECOND_NHS,
    Borough,
    build_borough,
    custody_event,
    one_child_recorded_twice,
)
from tests.world import AT


@pytest.fixture
def borough(transactional_db: None) -> Borough:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (SQLite serialises all writers)")
    return build_borough()


class HeldOpen:
    """``first`` runs in a thread's transaction, which stays open until ``release``;
    ``second`` runs in another thread once ``first`` has done its work."""

    def __init__(self, first: Callable[[], Any], second: Callable[[], Any]) -> None:
        self.first_done, self.released, self.second_done = (threading.Event() for _ in "abc")
        self.results: dict[str, Any] = {}
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._first, args=(first,)),
                        threading.Thread(target=self._second, args=(second,))]

    def _run(self, name: str, func: Callable[[], Any], *, hold: bool) -> None:
        try:
            with clock.frozen_at(AT), transaction.atomic():
                self.results[name] = func()
                if hold:
                    self.first_done.set()
                    self.released.wait(timeout=30)
        except BaseException as exc:  # surfaced in the test's thread
            self.errors.append(exc)
            self.first_done.set()
        finally:
            connections.close_all()

    def _first(self, func: Callable[[], Any]) -> None:
        self._run("first", func, hold=True)

    def _second(self, func: Callable[[], Any]) -> None:
        self._run("second", func, hold=False)
        self.second_done.set()

    def second_waited(self) -> bool:
        """Start ``first``, then ``second``; True if ``second`` could not finish while
        ``first``'s transaction was open. Both have finished when this returns."""
        self.threads[0].start()
        assert self.first_done.wait(timeout=30)
        self.threads[1].start()
        waited = not self.second_done.wait(timeout=1.0)
        self.released.set()
        for thread in self.threads:
            thread.join(timeout=60)
        if self.errors:
            raise self.errors[0]
        return waited


def _submit(b: Borough, agency: str, record: str, **subject: Any) -> Callable[[], Any]:
    force = {"met-police": "met", "notts-police": "nottinghamshire"}[agency]
    system = b.system_for(agency)
    return lambda: event_submit(actor=system, payload=custody_event(
        record=record, agency=agency, force=force, **subject))


def test_two_agencies_first_events_about_one_new_child_make_one_child(
        borough: Borough) -> None:
    """Name and date of birth only, as police and schools usually send: the second
    resolution waits for the first to commit, then links to the child it made."""
    held = HeldOpen(_submit(borough, "met-police", "M-1", nhs=None),
                    _submit(borough, "notts-police", "N-1", nhs=None))
    assert held.second_waited()
    assert Person.objects.count() == 1
    child = Person.objects.get()
    assert held.results["first"].result["person"] == child.ref
    assert held.results["second"].result["person"] == child.ref
    assert held.results["second"].result["person_created"] is False
    assert set(Event.objects.values_list("person_id", flat=True)) == {child.pk}


def _two_records_of_one_child(b: Borough) -> tuple[Person, Person]:
    with clock.frozen_at(AT):
        return one_child_recorded_twice(b)


def test_an_event_arriving_during_a_merge_lands_on_the_survivor(borough: Borough) -> None:
    survivor, merged = _two_records_of_one_child(borough)
    held = HeldOpen(
        lambda: person_merge(actor=None, survivor=survivor, merged=merged,
                             reason="One child: a reviewer compared both records."),
        _submit(borough, "met-police", "B-2", nhs=SECOND_NHS))
    assert held.second_waited()
    event = Event.objects.get(source_record="B-2")
    assert event.person_id == survivor.pk
    assert not Event.objects.filter(person=merged).exists()


def test_a_merge_started_during_an_event_moves_that_event_too(borough: Borough) -> None:
    survivor, merged = _two_records_of_one_child(borough)
    held = HeldOpen(
        _submit(borough, "met-police", "B-2", nhs=SECOND_NHS),
        lambda: person_merge(actor=None, survivor=survivor, merged=merged,
                             reason="One child: a reviewer compared both records."))
    assert held.second_waited()
    assert held.results["first"].result["person"] == merged.ref  # linked before the merge
    assert Event.objects.get(source_record="B-2").person_id == survivor.pk
    assert not Event.objects.filter(person=merged).exists()


def test_an_event_about_a_child_a_file_is_linking_waits_and_finds_that_child(
        borough: Borough) -> None:
    """A chunk of ``reachable link`` holds the lock from its first read of the index to its
    commit, like any resolution; an event meanwhile finds the child the chunk made."""
    row = {c: "" for c in COLUMNS} | {"record_id": "H1", "given_name": "Tomasz",
                                      "family_name": "Nowak", "date_of_birth": "2011-07-19"}

    def link() -> None:
        linker = BatchLinker(agency="nhs-trust", source="extract.csv", progress=False)
        try:
            linker.link_chunk([(1, row)])
        finally:
            linker.close()

    held = HeldOpen(link, _submit(borough, "met-police", "M-1", nhs=None))
    assert held.second_waited()
    child = Person.objects.get()
    assert held.results["second"].result["person"] == child.ref
    assert set(Event.objects.values_list("person_id", flat=True)) == {child.pk}
