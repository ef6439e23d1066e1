"""Concurrency on PostgreSQL: several threads, each with its own connection, racing the sweep,
the same submission and audit appends. (SQLite serialises writers, so these run on PG only.)"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from reachable.access.models import Notification
from reachable.audit.models import AuditRecord
from reachable.audit.services import audit_append
from reachable.audit.verify import verify_chain
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.intake.services import event_submit
from reachable.people.models import Person
from reachable.rules.models import Clock, ClockStatus
from reachable.rules.sweep import clocks_sweep
from tests.borough import Borough, build_borough, custody_event
from tests.world import AT

T = TypeVar("T")
THREADS = 4
BOOKED = datetime.fromisoformat("2025-03-06T10:10:00+00:00")
NHS = ["9434765919", "4010232137", "9990000018", "9990000026", "9990000034"]  # all valid


@pytest.fixture
def pg(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (SQLite serialises all writers)")


def race(func: Callable[[], T], threads: int = THREADS) -> list[T]:
    """Run ``func`` in ``threads`` threads released together; each closes its connection."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = func()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors, errors
    return results


@pytest.fixture
def borough_committed(pg: None) -> Borough:
    return build_borough()


def _children_in_custody(b: Borough, count: int) -> None:
    with clock.frozen_at(AT):
        for i in range(count):
            b.submit(custody_event(record=f"C-{i}", nhs=NHS[i], given=f"Child{i}"))


def test_concurrent_sweeps_transition_each_clock_exactly_once(
    borough_committed: Borough,
) -> None:
    _children_in_custody(borough_committed, 5)
    assert Clock.objects.filter(status=ClockStatus.OPEN).count() == 5

    escalations = race(lambda: clocks_sweep(now=BOOKED + timedelta(minutes=50)))
    assert sum(r.escalated for r in escalations) == 5
    assert AuditRecord.objects.filter(action="clock.escalated").count() == 5
    assert set(AuditRecord.objects.filter(action="clock.escalated")
               .values_list("object_id", flat=True)) == {
        str(pk) for pk in Clock.objects.values_list("pk", flat=True)}
    # Each racer that won clocks sent one notification (a digest if it won several); between
    # them every escalated clock is named exactly once.
    bodies = list(Notification.objects.values_list("body", flat=True))
    assert 1 <= len(bodies) <= 5
    named = [ref for body in bodies for ref in re.findall(r" on (P-\w+):", body)]
    assert sorted(named) == sorted(c.person.ref for c in Clock.objects.select_related("person"))

    breaches = race(lambda: clocks_sweep(now=BOOKED + timedelta(hours=2)))
    assert sum(r.breached for r in breaches) == 5
    assert AuditRecord.objects.filter(action="clock.breached").count() == 5
    assert Clock.objects.filter(status=ClockStatus.BREACHED).count() == 5
    assert verify_chain().intact


def test_concurrent_submissions_of_the_same_record_make_one_event(
    borough_committed: Borough,
) -> None:
    system = borough_committed.system_for("met-police")

    def submit() -> Any:
        with clock.frozen_at(AT):
            return event_submit(actor=system, payload=custody_event())

    submissions = race(submit)
    assert Event.objects.count() == 1
    assert Person.objects.count() == 1
    assert sum(s.created for s in submissions) == 1
    assert all(s.result == submissions[0].result for s in submissions)
    assert AuditRecord.objects.filter(action="event.accepted").count() == 1
    assert verify_chain().intact


def test_concurrent_appends_keep_the_chain_linear(borough_committed: Borough) -> None:
    before = AuditRecord.objects.count()

    def append_many() -> int:
        for i in range(10):
            with transaction.atomic():
                audit_append(actor=None, action="test.concurrent", object_type="test",
                             object_id=f"{threading.get_ident()}-{i}")
        return 10

    race(append_many)
    records = list(AuditRecord.objects.order_by("id"))
    assert len(records) == before + THREADS * 10
    prevs = [r.prev_hash for r in records]
    assert len(set(prevs)) == len(prevs)  # no record has two successors
    report = verify_chain()
    assert report.intact and report.records == len(records)


def test_concurrent_submissions_about_the_same_new_child_from_two_agencies(
    borough_committed: Borough,
) -> None:
    systems = [borough_committed.system_for(code) for code in ("met-police", "notts-police")]
    turn = iter(range(2))
    lock = threading.Lock()

    def submit() -> Any:
        with lock:
            index = next(turn)
        code = ("met-police", "notts-police")[index]
        payload = custody_event(record=f"R-{index}", agency=code,
                                force=("met", "nottinghamshire")[index])
        with clock.frozen_at(AT):
            return event_submit(actor=systems[index], payload=payload)

    submissions = race(submit, threads=2)
    assert Event.objects.count() == 2
    assert Person.objects.count() == 1
    assert {s.result["person"] for s in submissions} == {Person.objects.get().ref}


def test_a_batch_does_not_claim_a_clock_the_sweep_changed_after_reading_it(
        borough_committed: Borough) -> None:
    """A batch changes the clocks it meets at its end (``core.held.row_change``). If another
    transaction changed one after the batch read it open (here it holds the row, then
    breaches it), the held change finds nothing to change: the batch rolls back and is
    replayed event by event, and the decision does not claim the clock."""
    from reachable.intake.services import Submission, events_submit_batch
    from tests.rules.test_catalogue_front_door import event, local, screened

    b = borough_committed
    start, decided = local("2025-04-17T15:00"), local("2025-04-22T10:59")
    with clock.frozen_at(start + timedelta(minutes=1)):
        events_submit_batch(actor=b.system_for("csc"), payloads=[screened("red", start)])
    [clk] = Clock.objects.filter(rule_id="mash-rag", status=ClockStatus.OPEN)
    holding = threading.Event()

    def sweep_like() -> None:
        try:
            with transaction.atomic():
                Clock.objects.select_for_update().get(pk=clk.pk)
                holding.set()
                threading.Event().wait(1.0)  # the batch reads the clock open meanwhile
                Clock.objects.filter(pk=clk.pk).update(status=ClockStatus.BREACHED)
        finally:
            connections.close_all()

    other = threading.Thread(target=sweep_like)
    other.start()
    assert holding.wait(timeout=10)
    payload = event("mash.decided", {"outcome": "assessment"}, decided)
    with clock.frozen_at(decided + timedelta(minutes=1)), \
            CaptureQueriesContext(connection) as queries:
        [outcome] = events_submit_batch(actor=b.system_for("csc"), payloads=[payload])
    other.join(timeout=30)
    assert isinstance(outcome, Submission)
    assert outcome.result["clocks_met"] == []
    clk.refresh_from_db()
    assert clk.status == ClockStatus.BREACHED
    assert Event.objects.filter(source_record=payload["source"]["record"]).count() == 1
    # The fast pass was rolled back and the event replayed on its own.
    assert any(q["sql"].startswith("ROLLBACK TO SAVEPOINT") for q in queries.captured_queries)
