"""Lock order on PostgreSQL: a batch of events and the writers that lock rows before they
audit (the sweep, an acknowledgement) wait for each other, but never in a circle: everyone
changes rows first and takes the audit chain's lock last, and changes alerts before clocks.

Each test pauses one writer, in its own thread and transaction, at the moment it holds the
rows it changes and has yet to audit; starts a batch that needs one of those rows; waits until
PostgreSQL reports the batch waiting for a lock; and lets the first writer go on to audit. Had
the batch taken the audit chain's lock before it reached that row, each would now wait for the
other, and PostgreSQL would abort one ("deadlock detected"). The last test pauses the batch
itself and checks that an audited read need not wait for it. (SQLite serialises all writers,
so these run on PostgreSQL only.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction

from reachable.audit.models import AuditRecord
from reachable.audit.services import audit_append
from reachable.audit.verify import verify_chain
from reachable.core import clock
from reachable.core.held import row_change, rows_held
from reachable.intake import services as intake_services
from reachable.intake.services import Submission, events_submit_batch
from reachable.rules import services as alert_services
from reachable.rules import sweep
from reachable.rules.models import Alert, AlertStatus, Clock, ClockStatus
from reachable.rules.registry import ACKNOWLEDGED
from tests.borough import Borough, build_borough
from tests.rules.test_catalogue_front_door import event, local, screened

SCREENED = local("2025-04-17T15:00")  # a Thursday: red gives 4 working hours
DECIDED = local("2025-04-17T16:00")


@pytest.fixture
def borough(transactional_db: None) -> Borough:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (SQLite serialises all writers)")
    b = build_borough()
    with clock.frozen_at(SCREENED + timedelta(minutes=1)):
        events_submit_batch(actor=b.system_for("csc"), payloads=[screened("red", SCREENED)])
    return b


class Paused:
    """Runs ``work`` in a thread of its own; ``pause_here`` (called from inside ``work``)
    stops it there until ``go`` is called. Errors come back to the test's thread."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.reached, self._go = threading.Event(), threading.Event()
        self.result: Any = None
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(work,))

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self.result = work()
        except BaseException as exc:  # surfaced in the test's thread
            self.errors.append(exc)
        finally:
            self.reached.set()
            connections.close_all()

    def in_its_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def pause_here(self) -> None:
        if not self._go.is_set():
            self.reached.set()
            assert self._go.wait(timeout=30)

    def start(self) -> None:
        self._thread.start()
        assert self.reached.wait(timeout=30)
        assert not self.errors, self.errors

    def go(self) -> Any:
        self._go.set()
        self._thread.join(timeout=60)
        if self.errors:
            raise self.errors[0]
        return self.result


@contextmanager
def in_thread(work: Callable[[], Iterable[Any]]) -> Iterator[list[Any]]:
    """Run ``work`` in another thread; the block runs while it is under way, and what it
    returned (or its error) is in the list once the block has ended."""
    outcomes: list[Any] = []

    def run() -> None:
        try:
            outcomes.extend(work())
        except BaseException as exc:  # surfaced in the test's thread
            outcomes.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield outcomes
    finally:
        thread.join(timeout=60)


def batch_in_thread(payload: dict[str, Any], b: Borough, agency: str = "csc"
                    ) -> AbstractContextManager[list[Any]]:
    """Submit ``payload`` as a batch in another thread (``in_thread``)."""
    def submit() -> list[Any]:
        at = datetime.fromisoformat(payload["occurred_at"]) + timedelta(minutes=1)
        with clock.frozen_at(at):
            return list(events_submit_batch(actor=b.system_for(agency), payloads=[payload]))
    return in_thread(submit)


def wait_until_someone_waits_for_a_lock() -> None:
    """Until another connection to the test database is waiting for a lock (row or advisory).
    The test's own connection is in autocommit, so each look is a fresh snapshot."""
    deadline = time.monotonic() + 20
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the batch never waited for the row the other writer holds")


def _audit_order(*actions: str) -> list[str]:
    return list(AuditRecord.objects.filter(action__in=actions).order_by("id")
                .values_list("action", flat=True))


def test_a_batch_meeting_a_clock_the_sweep_is_breaching_waits_for_the_sweep(
        borough: Borough, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep locks the clocks due, then audits; the batch meets one of them. The batch
    waits for the sweep's row; the sweep then audits and commits; the batch finds the clock
    breached (replayed event by event, it does not claim it) and commits too."""
    [clk] = Clock.objects.filter(rule_id="mash-rag", status=ClockStatus.OPEN)
    real_lock_due = sweep._lock_due

    def lock_due_then_pause(ids: Any, condition: str, params: Any) -> list[int]:
        locked = real_lock_due(ids, condition, params)
        if locked:
            sweeping.pause_here()
        return locked

    monkeypatch.setattr(sweep, "_lock_due", lock_due_then_pause)
    sweeping = Paused(lambda: sweep.clocks_sweep(now=clk.deadline + timedelta(minutes=1)))
    sweeping.start()
    decided = event("mash.decided", {"outcome": "assessment"}, DECIDED)
    with batch_in_thread(decided, borough) as outcomes:
        wait_until_someone_waits_for_a_lock()
        report = sweeping.go()
    assert report.breached == 1
    [outcome] = outcomes
    assert isinstance(outcome, Submission), outcome
    assert outcome.result["clocks_met"] == []
    clk.refresh_from_db()
    assert clk.status == ClockStatus.BREACHED
    assert _audit_order("clock.breached", "event.accepted")[-2:] == [
        "clock.breached", "event.accepted"]
    assert verify_chain().intact


def test_a_batch_settling_an_alert_being_acknowledged_waits_for_the_acknowledgement(
        borough: Borough, monkeypatch: pytest.MonkeyPatch) -> None:
    """An acknowledgement changes its alert, then audits; the batch's decision would settle
    the same alert. The batch waits for the alert's row; the acknowledgement audits and
    commits; the batch leaves the alert as the practitioner acknowledged it and meets the
    clock."""
    [alert] = Alert.objects.filter(rule_id="mash-rag", status=AlertStatus.OPEN)
    real_close_clocks = alert_services.close_clocks

    def close_clocks_then_pause(**kwargs: Any) -> Any:
        met = real_close_clocks(**kwargs)
        acknowledging.pause_here()
        return met

    monkeypatch.setattr(alert_services, "close_clocks", close_clocks_then_pause)
    practitioner = borough.users["mash_practitioner"]

    def acknowledge() -> Alert:
        with clock.frozen_at(DECIDED - timedelta(minutes=5)):
            return alert_services.alert_acknowledge(
                actor=practitioner, alert_id=alert.pk,
                information_shared="Shared the screening with the school's DSL.")

    acknowledging = Paused(acknowledge)
    acknowledging.start()
    decided = event("mash.decided", {"outcome": "assessment"}, DECIDED)
    with batch_in_thread(decided, borough) as outcomes:
        wait_until_someone_waits_for_a_lock()
        acknowledging.go()
    [outcome] = outcomes
    assert isinstance(outcome, Submission), outcome
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == practitioner
    assert alert.information_shared.startswith("Shared the screening")
    [clk] = Clock.objects.filter(rule_id="mash-rag")
    assert clk.status == ClockStatus.MET
    assert [c["rule"] for c in outcome.result["clocks_met"]] == ["mash-rag"]
    assert _audit_order("alert.acknowledged", "event.accepted")[-2:] == [
        "alert.acknowledged", "event.accepted"]
    assert verify_chain().intact


def test_a_batch_meeting_the_clock_of_an_alert_being_acknowledged_waits_for_it(
        borough: Borough, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock that both an acknowledgement and an event meet (ED attendance for violence:
    acknowledged, or a contact to the front door). The acknowledgement has changed its alert
    and is about to meet the clock; the batch's contact would meet the clock and settle the
    alert. The batch changes alerts before clocks, as the acknowledgement does, so it waits
    at the alert without holding the clock; the acknowledgement meets the clock and commits;
    the batch, finding the clock met, is replayed event by event and claims nothing."""
    health = "nhs-trust"
    attended = local("2025-04-22T14:00")  # after the fixture's screening
    with clock.frozen_at(attended + timedelta(minutes=1)):
        events_submit_batch(actor=borough.system_for(health), payloads=[event(
            "ed.attended", {"reason": "weapon_injury"}, attended, agency=health)])
    [alert] = Alert.objects.filter(rule_id="ed-violence", status=AlertStatus.OPEN)
    real_close_clocks = alert_services.close_clocks

    def pause_then_close_clocks(**kwargs: Any) -> Any:
        acknowledging.pause_here()
        return real_close_clocks(**kwargs)

    monkeypatch.setattr(alert_services, "close_clocks", pause_then_close_clocks)
    practitioner = borough.users["mash_practitioner"]
    acknowledged = local("2025-04-22T15:00")

    def acknowledge() -> Alert:
        with clock.frozen_at(acknowledged):
            return alert_services.alert_acknowledge(
                actor=practitioner, alert_id=alert.pk,
                information_shared="Shared the attendance with the school nurse.")

    acknowledging = Paused(acknowledge)
    acknowledging.start()
    contact = event("contact.received", {"narrative": "ED nurse refers."},
                    local("2025-04-22T15:30"), agency=health)
    with batch_in_thread(contact, borough, agency=health) as outcomes:
        wait_until_someone_waits_for_a_lock()
        acknowledging.go()
    [outcome] = outcomes
    assert isinstance(outcome, Submission), outcome
    assert outcome.result["clocks_met"] == []
    [clk] = Clock.objects.filter(rule_id="ed-violence")
    assert (clk.status, clk.met_by, clk.met_at) == (ClockStatus.MET, ACKNOWLEDGED,
                                                    acknowledged)
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, practitioner)
    assert _audit_order("alert.acknowledged", "event.accepted")[-2:] == [
        "alert.acknowledged", "event.accepted"]
    assert verify_chain().intact


def test_an_audited_read_does_not_wait_for_a_batch_under_way(
        borough: Borough, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch paused at its second event, its first event's audit record made: a page view
    (one audit record in its own transaction) goes through at once, and both records are in
    the chain afterwards."""
    real_evaluate = intake_services.evaluate_event
    evaluated: list[int] = []

    def pause_at_the_second_event(event: Any, **kwargs: Any) -> Any:
        evaluated.append(event.pk)
        if len(evaluated) == 2:
            batch.pause_here()
        return real_evaluate(event, **kwargs)

    monkeypatch.setattr(intake_services, "evaluate_event", pause_at_the_second_event)
    at = local("2025-04-22T10:00")
    payloads = [screened("amber", at, record=f"screen-{n}") for n in (1, 2)]

    def submit() -> Any:
        with clock.frozen_at(at + timedelta(minutes=1)):
            return events_submit_batch(actor=borough.system_for("csc"), payloads=payloads)

    batch = Paused(submit)
    batch.start()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:  # waiting for the batch fails, not hangs
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            audit_append(actor=borough.users["mash_practitioner"], action="person.viewed",
                         object_type="person", object_id=1)
    finally:
        outcomes = batch.go()
    assert [type(o) for o in outcomes] == [Submission, Submission]
    assert len(evaluated) == 2  # the batch went through in one pass, no replay
    assert _audit_order("person.viewed", "event.accepted")[-3:] == [
        "person.viewed", "event.accepted", "event.accepted"]
    assert verify_chain().intact


def test_held_changes_to_a_row_changed_twice_still_lock_alerts_before_clocks(
        borough: Borough) -> None:
    """Changes written one by one (one row changed twice in a batch: a clock, its alert, the
    clock again) lock their rows in the same order as grouped ones, alerts before clocks,
    so they wait for an acknowledgement holding the alert instead of taking the clock it
    needs next."""
    [clk] = Clock.objects.filter(rule_id="mash-rag", status=ClockStatus.OPEN)
    alert_id = clk.alert_id
    live = {"status": (ClockStatus.OPEN,)}

    def acknowledging() -> None:  # an alert, then its clocks, as alert_acknowledge does
        with transaction.atomic():
            row_change(Alert, alert_id, {"outcome": "acknowledging"}, where={})
            ack.pause_here()
            row_change(Clock, clk.pk, {"met_by": "acknowledgement"}, where=live)

    ack = Paused(acknowledging)
    ack.start()

    def batch() -> list[str]:
        with transaction.atomic(), rows_held():
            row_change(Clock, clk.pk, {"met_by": "batch, first"}, where=live,
                       must_change=False)
            row_change(Alert, alert_id, {"outcome": "settled"}, where={}, must_change=False)
            row_change(Clock, clk.pk, {"met_by": "batch, again"}, where=live,
                       must_change=False)
        return ["written"]

    with in_thread(batch) as outcomes:
        try:
            wait_until_someone_waits_for_a_lock()
        finally:
            ack.go()
    assert outcomes == ["written"]
    clk.refresh_from_db()
    assert clk.met_by == "batch, again"  # the batch's last change, after the acknowledgement's
    assert Alert.objects.get(pk=alert_id).outcome == "settled"
