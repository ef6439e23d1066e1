"""``events_submit_batch`` and ``intake_session``: many events in one transaction, each handled
exactly as ``event_submit`` handles it, refusals reported at their position, audit chain
intact with one record per accepted event."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from reachable.access.services import allocation_create
from reachable.audit.models import AuditRecord
from reachable.audit.services import audit_append
from reachable.audit.verify import verify_chain
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.intake.services import (
    Submission,
    SubmissionError,
    event_submit,
    events_submit_batch,
    events_submit_feed,
    intake_session,
)
from reachable.people.models import Person
from reachable.rules.models import Alert, Clock
from reachable.rules.services import alert_acknowledge
from tests.borough import Borough, custody_event

AT = datetime.fromisoformat("2025-03-06T10:15:00+00:00")


def test_batch_accepts_in_order_and_reports_refusals_at_their_position(
    borough: Borough,
) -> None:
    police = borough.system_for("met-police")
    bad_nhs = custody_event(record="C-2", nhs="1234567890")
    changed = custody_event(record="C-1")
    changed["data"]["offence"] = "burglary"
    payloads = [
        custody_event(record="C-1"),
        bad_nhs,
        custody_event(record="C-1"),  # a retry: same answer, nothing written
        changed,  # same record id, other content: a conflict
        custody_event(record="C-3", given="Tomek"),  # same NHS number: the same child
        custody_event(record="X-1", agency="notts-police", force="nottinghamshire"),
    ]
    audit_before = AuditRecord.objects.count()
    with clock.frozen_at(AT):
        outcomes = events_submit_batch(actor=police, payloads=payloads)
    assert [type(o).__name__ for o in outcomes] == [
        "Submission", "SubmissionError", "Submission", "SubmissionError", "Submission",
        "SubmissionError"]
    first, error, retry, conflict, third, forbidden = outcomes
    assert isinstance(first, Submission) and first.created
    assert isinstance(error, SubmissionError) and error.index == 1 and error.kind == "invalid"
    assert "subject.nhs_number" in error.errors
    assert isinstance(retry, Submission) and not retry.created and retry.result == first.result
    assert isinstance(conflict, SubmissionError) and conflict.kind == "conflict"
    assert isinstance(third, Submission) and third.result["person"] == first.result["person"]
    assert third.result["matched_on"] == "nhs_number"
    assert isinstance(forbidden, SubmissionError) and forbidden.kind == "forbidden"
    assert Event.objects.count() == 2
    assert Person.objects.count() == 1
    assert Alert.objects.count() == 2 and Clock.objects.count() == 2
    accepted = AuditRecord.objects.filter(action="event.accepted")
    assert AuditRecord.objects.count() - audit_before == accepted.count() == 2
    assert verify_chain().intact
    # The stored results are what the batch answered: a resubmission gets them back.
    for payload, outcome in [(payloads[0], first), (payloads[4], third)]:
        again = event_submit(actor=police, payload=payload)
        assert not again.created and again.result == outcome.result  # type: ignore[union-attr]


def test_a_feed_checks_and_records_each_event_as_its_own_agency(borough: Borough) -> None:
    """Several agencies' events in one transaction, in order: each is refused or accepted as
    its own actor would be on its own, and audited as that actor."""
    met, notts = borough.system_for("met-police"), borough.system_for("notts-police")
    notts_booking = custody_event(record="X-1", agency="notts-police", force="nottinghamshire")
    feed = [
        (met, custody_event(record="C-1")),
        (met, notts_booking),  # another agency's record, sent by the Met's system
        (notts, notts_booking),
        (notts, custody_event(record="C-2")),  # the Met's record, sent by Nottinghamshire's
    ]
    with clock.frozen_at(AT):
        outcomes = events_submit_feed(submissions=feed)
    assert [type(o).__name__ for o in outcomes] == [
        "Submission", "SubmissionError", "Submission", "SubmissionError"]
    first, forbidden, second, also_forbidden = outcomes
    assert isinstance(forbidden, SubmissionError) and forbidden.index == 1
    assert forbidden.kind == "forbidden"
    assert isinstance(also_forbidden, SubmissionError) and also_forbidden.index == 3
    assert isinstance(first, Submission) and isinstance(second, Submission)
    assert second.result["person"] == first.result["person"]  # one child, two forces
    assert second.result["matched_on"] == "nhs_number"
    accepted = AuditRecord.objects.filter(action="event.accepted").order_by("id")
    assert [r.actor_id for r in accepted] == [met.pk, notts.pk]
    assert [e.submitted_by_id for e in Event.objects.order_by("id")] == [met.pk, notts.pk]
    assert verify_chain().intact


def test_a_feed_reads_the_agencies_it_names_once(borough: Borough) -> None:
    met, notts = borough.system_for("met-police"), borough.system_for("notts-police")
    unknown = custody_event(record="U-1", agency="no-such-force")
    feed = [(met, custody_event(record="C-1")),
            (notts, custody_event(record="X-1", agency="notts-police", force="nottinghamshire")),
            (met, unknown), (met, custody_event(record="C-2"))]
    with clock.frozen_at(AT), CaptureQueriesContext(connection) as queries:
        outcomes = events_submit_feed(submissions=feed)
    agency_reads = [q["sql"] for q in queries.captured_queries
                    if 'FROM "organisations_agency"' in q["sql"]]
    assert len(agency_reads) == 1, agency_reads
    refused = outcomes[2]
    assert isinstance(refused, SubmissionError) and refused.kind == "invalid"
    assert "Unknown agency" in refused.errors["source.agency"][0]
    assert all(isinstance(o, Submission) for o in (outcomes[0], outcomes[1], outcomes[3]))


def test_batch_result_matches_what_event_submit_records(borough: Borough) -> None:
    police = borough.system_for("met-police")
    with clock.frozen_at(AT):
        batch = events_submit_batch(actor=police, payloads=[custody_event(record="B-1")])
        single = event_submit(actor=police, payload=custody_event(record="B-2"))
    assert isinstance(batch[0], Submission)
    strip = {"event", "alerts", "clocks"}
    assert {k: v for k, v in batch[0].result.items() if k not in strip} == {
        **{k: v for k, v in single.result.items() if k not in strip},
        "person_created": True, "matched_on": "new"}
    assert [a["rule"] for a in batch[0].result["alerts"]] == ["golden-hour"]
    records = AuditRecord.objects.filter(action="event.accepted").order_by("id")
    assert [r.object_id for r in records] == [str(batch[0].result["event"]),
                                              str(single.result["event"])]
    assert verify_chain().intact


def test_session_interleaves_buffered_and_direct_audit_records_in_chain_order(
    borough: Borough,
) -> None:
    police = borough.system_for("met-police")
    mash = borough.users["mash_practitioner"]
    with clock.frozen_at(AT), intake_session():
        first = event_submit(actor=police, payload=custody_event(record="S-1"))
        # A practitioner action in the middle writes its record directly, after the buffer's.
        alert_acknowledge(actor=mash, alert_id=first.result["alerts"][0]["id"],
                          information_shared="Shared with custody sergeant by phone.")
        event_submit(actor=police, payload=custody_event(record="S-2", nhs=None,
                                                         given="Anna", dob="2012-01-01"))
    actions = list(AuditRecord.objects.order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["event.accepted", "alert.acknowledged", "event.accepted"]
    assert verify_chain().intact


def test_session_rolls_back_with_its_transaction(borough: Borough) -> None:
    police = borough.system_for("met-police")
    before = AuditRecord.objects.count()
    try:
        with clock.frozen_at(AT), intake_session():
            event_submit(actor=police, payload=custody_event(record="R-1"))
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    assert AuditRecord.objects.count() == before
    assert not Event.objects.exists()
    with clock.frozen_at(AT), transaction.atomic():
        audit_append(actor=None, action="test.after", object_type="test")
    assert verify_chain().intact


def test_in_a_batch_alerts_reach_the_allocated_worker_read_once_for_the_batch(
    borough: Borough,
) -> None:
    """Out-of-area custody alerts the child's allocated worker. In a batch the allocations
    of every child it names are read in one query; a child first seen in the batch has none,
    so that alert falls back to a social work team with no one assigned."""
    worker = borough.users["social_worker"]
    with clock.frozen_at(AT):
        known = event_submit(actor=borough.system_for("met-police"),
                             payload=custody_event(record="C-1")).result["person"]
        allocation_create(actor=None, person=Person.objects.get(), worker=worker)
        out_of_area = {"agency": "notts-police", "force": "nottinghamshire"}
        with CaptureQueriesContext(connection) as queries:
            outcomes = events_submit_batch(actor=borough.system_for("notts-police"), payloads=[
                custody_event(record="N-1", **out_of_area),
                custody_event(record="N-2", given="Amelia", family="Clarke", dob="2012-01-05",
                              nhs="4010232137", **out_of_area),
                custody_event(record="N-3", at="2025-03-06T10:12:00+00:00", **out_of_area),
            ])
    assert all(isinstance(o, Submission) for o in outcomes)
    by_person = {}
    for alert in Alert.objects.filter(rule_id="out-of-area-arrest", route="allocated_worker"):
        by_person.setdefault(alert.person.ref, []).append(alert)
    newcomer = next(ref for ref in by_person if ref != known)
    assert [(a.assignee, a.team) for a in by_person[known]] == [
        (worker, borough.teams["sw-north"])] * 2
    [fallback] = by_person[newcomer]
    assert fallback.assignee is None and fallback.team is not None
    assert fallback.team.kind == "social_work"
    grant_reads = [q for q in queries.captured_queries
                   if q["sql"].startswith("SELECT") and '"access_accessgrant"' in q["sql"]
                   and "allocated_worker" in q["sql"]]
    assert len(grant_reads) == 1, [q["sql"] for q in grant_reads]
