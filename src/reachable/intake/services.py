"""``event_submit``: the one door through which every fact enters Reachable.

API, file import, web forms and scenario replay all call this. In one transaction it
validates the envelope, resolves the subject (and related people) to persons, appends the
event to the chronology, evaluates the rules (alerts, clocks) and writes the audit record.
No event without its alerts; no alert without its event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from django.db import IntegrityError, transaction

from reachable.access.models import GrantReason
from reachable.access.policies import Activity, has_activity
from reachable.access.services import relationship_grant, relationships_deferred
from reachable.audit.services import AuditBuffer, audit_append, audit_buffered
from reachable.childstate.state import flags_batched, flags_none_yet, flags_prefetch
from reachable.chronology.models import Event, EventRelatedPerson
from reachable.chronology.related import event_related_remember
from reachable.core import clock
from reachable.core.errors import DomainError, PermissionDenied, ValidationFailed
from reachable.core.held import ChangeLost, row_create, row_written, rows_held
from reachable.core.json_values import json_ready
from reachable.core.sql import values_where_in
from reachable.identity.resolver import (
    resolutions_batched,
    resolutions_prefetch,
    resolve_subject,
)
from reachable.intake.projections import event_project
from reachable.intake.schemas import ValidEnvelope, validate_envelope
from reachable.organisations.models import Agency, User
from reachable.rules.allocations import (
    allocations_batched,
    allocations_none_yet,
    allocations_prefetch,
)
from reachable.rules.engine import evaluate_event, team_lookups_cached
from reachable.rules.live_clocks import clocks_batched, clocks_none_yet, clocks_prefetch


@dataclass(frozen=True)
class Submission:
    result: dict[str, Any]
    created: bool  # False when this was a resubmission of an event already accepted


class DuplicateConflict(ValidationFailed):
    """Same agency record id, different content: not a retry, so refused."""


@dataclass(frozen=True)
class SubmissionError:
    """One refused event of a batch: its position, why, and the per-field messages."""

    index: int
    kind: str  # "invalid", "conflict" or "forbidden"
    errors: dict[str, Any]


DUPLICATE_MESSAGE = (
    "This agency record id was already submitted with different content. "
    "Send corrections with a new record id."
)


def _payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def _agency_for(actor: User | None, code: str, session: _Session | None = None) -> Agency:
    agency = (session.agency(code) if session is not None
              else Agency.objects.filter(code=code).first())
    if agency is None:
        raise ValidationFailed({"source.agency": [f"Unknown agency '{code}'."]})
    if actor is not None:
        if not has_activity(actor, Activity.SUBMIT_EVENT):
            raise PermissionDenied("Your role cannot submit events.")
        if actor.agency_id != agency.pk:
            raise PermissionDenied("You can only submit events for your own agency.")
    return agency


def _existing(agency: Agency, record: str, payload_hash: str) -> Submission | None:
    event = Event.objects.filter(source_agency=agency, source_record=record).first()
    if event is None:
        return None
    if event.payload_hash != payload_hash:
        raise DuplicateConflict({"source.record": [DUPLICATE_MESSAGE]})
    return Submission(result=event.result, created=False)


def event_submit(*, actor: User | None, payload: dict[str, Any]) -> Submission:
    """Accept one event (idempotent on source agency + record id).

    ``actor`` is the agency system (or practitioner) submitting; ``None`` is the platform
    itself (replay, demo generation), which may submit for any agency.
    """
    session = _session.get()
    envelope = validate_envelope(payload)
    digest = _payload_hash(payload)
    agency = _agency_for(actor, envelope.source_agency, session)
    previous = _existing(agency, envelope.source_record, digest)
    if previous is not None:
        return previous
    try:
        return _accept_guarded(actor=actor, agency=agency, envelope=envelope, digest=digest,
                               session=session)
    except IntegrityError:
        # A concurrent submission of the same record won the race; answer as it did.
        previous = _existing(agency, envelope.source_record, digest)
        if previous is not None:
            return previous
        # Another agency's first event about the same new child won the race for one of its
        # identifiers. That transaction has committed, so one more try resolves this subject
        # to the person it created instead of failing.
        return _accept_guarded(actor=actor, agency=agency, envelope=envelope, digest=digest,
                               session=session)


def events_submit_batch(*, actor: User | None, payloads: Iterable[Any]
                        ) -> list[Submission | SubmissionError]:
    """Accept many events in order, in one transaction (file import, bulk feeds, benchmarks).

    Each event is handled exactly as ``event_submit`` handles it: validated, checked for
    idempotency, resolved, appended, rules evaluated, one audit record. A refused event is
    reported at its position and the rest still go in. Checks that can refuse an event run
    before it writes anything; should a write fail unexpectedly, the batch's writes are rolled
    back and it is replayed one event per savepoint through ``event_submit``, so no event is
    ever half-written. The fast pass saves the per-event lookups a batch can share (agencies,
    already-seen record ids) and writes the audit records and stored results together.
    """
    return events_submit_feed(submissions=((actor, payload) for payload in payloads))


def events_submit_feed(*, submissions: Iterable[tuple[User | None, Any]]
                       ) -> list[Submission | SubmissionError]:
    """``events_submit_batch`` for events from several agencies' systems, in the order they
    came: each (actor, payload) is checked against its own actor, as ``event_submit`` checks
    it, and the lot is one transaction.

    A feed that interleaves agencies (a partnership's hub relaying every agency's events as
    they happen) keeps its order this way; cut into one batch per agency, it would be
    reordered, and each small batch would pay for its own reads, flushes and commit.
    """
    items = list(submissions)
    with transaction.atomic():
        try:
            with (transaction.atomic(), audit_buffered() as audit, team_lookups_cached(),
                  resolutions_batched(), relationships_deferred(), flags_batched(),
                  clocks_batched(), allocations_batched(), rows_held()):
                session = _Session(audit=audit, batch=True)
                token = _session.set(session)
                try:
                    return _batch_fast(items=items, session=session)
                finally:
                    _session.reset(token)
        except (_WriteFailed, IntegrityError, ChangeLost):
            # IntegrityError: a row held back until the end of the pass met a unique
            # constraint that another transaction won in the meantime. ChangeLost: a clock
            # this pass met had been changed by another transaction (the sweep) meanwhile.
            return [_outcome(index, partial(event_submit, actor=actor, payload=payload))
                    for index, (actor, payload) in enumerate(items)]


_T = TypeVar("_T")


class _WriteFailed(Exception):
    """A write in the fast pass failed: roll the pass back and go one savepoint per event."""


def _outcome(index: int, submit: Callable[[], _T]) -> _T | SubmissionError:
    """Run one event's step; a refusal becomes its ``SubmissionError`` at ``index``."""
    try:
        submission = submit()
    except DuplicateConflict as exc:
        return SubmissionError(index=index, kind="conflict", errors=exc.errors)
    except ValidationFailed as exc:
        return SubmissionError(index=index, kind="invalid", errors=exc.errors)
    except PermissionDenied as exc:
        return SubmissionError(index=index, kind="forbidden",
                               errors={"non_field_errors": [str(exc)]})
    except DomainError as exc:
        return SubmissionError(index=index, kind="invalid",
                               errors={"non_field_errors": [str(exc)]})
    return submission


@dataclass
class _Checked:
    envelope: ValidEnvelope
    digest: str
    agency: Agency
    actor: User | None


@dataclass
class _Session:
    """Lookups shared by many submissions in one transaction, and writes made together.

    Nothing cached here outlives the transaction: agencies by code, and the (person, agency)
    pairs already given a supplied-event relationship. Audit records are chained at once and
    written in one INSERT by the buffer; in a batch, stored results are written at its end.
    """

    audit: AuditBuffer
    # A batch (one transaction, rolled back whole on any failed write) also holds back the
    # stored results and writes them at its end.
    batch: bool = False
    results: list[Event] = field(default_factory=list)
    agencies: dict[str, Agency | None] = field(default_factory=dict)
    supplied: set[tuple[int, int]] = field(default_factory=set)

    def agency(self, code: str) -> Agency | None:
        if code not in self.agencies:
            self.agencies[code] = Agency.objects.filter(code=code).first()
        return self.agencies[code]

    def agencies_prefetch(self, payloads: Iterable[Any]) -> None:
        """The agencies these payloads name, in one query (an envelope too malformed to name
        one is left to validation, which refuses it)."""
        codes = {code for payload in payloads
                 if isinstance(payload, dict) and isinstance(payload.get("source"), dict)
                 and isinstance(code := payload["source"].get("agency"), str)
                 and code not in self.agencies}
        if codes:
            found = {agency.code: agency for agency in Agency.objects.filter(code__in=codes)}
            for code in codes:
                self.agencies[code] = found.get(code)


_session: ContextVar[_Session | None] = ContextVar("intake_session", default=None)


@contextmanager
def intake_session() -> Iterator[None]:
    """Run many ``event_submit`` calls in one transaction with shared lookups (demo, replay).

    Every event is still validated, resolved, evaluated and audited exactly as on its own;
    the session only spares repeated lookups, and writes the audit records together.
    """
    with transaction.atomic(), audit_buffered() as audit, team_lookups_cached():
        token = _session.set(_Session(audit=audit))
        try:
            yield
        finally:
            _session.reset(token)


def _accept_guarded(*, actor: User | None, agency: Agency, envelope: ValidEnvelope,
                    digest: str, session: _Session | None) -> Submission:
    """``_accept`` in its own savepoint; on failure the session forgets what it rolled back."""
    mark = session.audit.mark() if session is not None else None
    try:
        with transaction.atomic():
            return _accept(actor=actor, agency=agency, envelope=envelope, digest=digest,
                           session=session)
    except BaseException:
        if session is not None and mark is not None:
            session.audit.rollback_to(mark)
            session.supplied.clear()
        raise


def _batch_fast(*, items: list[tuple[User | None, Any]], session: _Session
                ) -> list[Submission | SubmissionError]:
    def check(actor: User | None, payload: Any) -> _Checked:
        envelope = validate_envelope(payload)
        digest = _payload_hash(payload)
        return _Checked(envelope, digest, _agency_for(actor, envelope.source_agency, session),
                        actor)

    session.agencies_prefetch(payload for _, payload in items)
    checked = [_outcome(i, partial(check, actor, payload))
               for i, (actor, payload) in enumerate(items)]
    seen = _seen_records([c for c in checked if isinstance(c, _Checked)])
    known = resolutions_prefetch(
        (described, item.agency.code)
        for item in checked
        if isinstance(item, _Checked)
        and (item.agency.pk, item.envelope.source_record) not in seen
        for described in (item.envelope.subject,
                          *(described for _, described in item.envelope.related_subjects)))
    flags_prefetch(known)
    clocks_prefetch(known)
    allocations_prefetch(known)
    outcomes: list[Submission | SubmissionError] = []
    for index, item in enumerate(checked):
        if isinstance(item, SubmissionError):
            outcomes.append(item)
            continue
        key = (item.agency.pk, item.envelope.source_record)
        if key in seen:
            digest, result = seen[key]
            outcomes.append(_outcome(index, partial(_repeat, item, digest, result)))
            continue
        try:
            submission = _accept(actor=item.actor, agency=item.agency, envelope=item.envelope,
                                 digest=item.digest, session=session)
        except Exception as exc:  # any failed write: replay the batch event by event
            raise _WriteFailed from exc
        seen[key] = (item.digest, submission.result)
        outcomes.append(submission)
    Event.objects.bulk_update(session.results, ["result"], batch_size=500)
    return outcomes


def _seen_records(checked: list[_Checked]) -> dict[tuple[int, str], tuple[str, dict[str, Any]]]:
    """Events already accepted for the batch's record ids: (hash, stored result) by key."""
    by_agency: dict[int, list[str]] = {}
    for item in checked:
        by_agency.setdefault(item.agency.pk, []).append(item.envelope.source_record)
    seen: dict[tuple[int, str], tuple[str, dict[str, Any]]] = {}
    for agency_id, records in by_agency.items():
        for record, digest, result in values_where_in(
                Event, ("source_record", "payload_hash", "result"), "source_record", records,
                where={"source_agency": [agency_id]}):
            seen[(agency_id, record)] = (digest, result)
    return seen


def _repeat(item: _Checked, digest: str, result: dict[str, Any]) -> Submission:
    """A record id seen before: the same answer if the same content, else a conflict."""
    if digest != item.digest:
        raise DuplicateConflict({"source.record": [DUPLICATE_MESSAGE]})
    return Submission(result=result, created=False)


def _accept(*, actor: User | None, agency: Agency, envelope: ValidEnvelope, digest: str,
            session: _Session | None = None) -> Submission:
    now = clock.now()
    source = f"event:{agency.code}:{envelope.source_record}"
    resolution = resolve_subject(subject=envelope.subject, agency_code=agency.code,
                                 at=envelope.occurred_at, source=source)
    person = resolution.person
    if resolution.created:
        flags_none_yet(person.pk)
        clocks_none_yet(person.pk)
        allocations_none_yet(person.pk)
    related_rows = []
    related_json = []
    # Read, not popped: the envelope must stay intact for a retry after a lost race.
    for number, (role, described) in enumerate(envelope.related_subjects, start=1):
        other = resolve_subject(subject=described, agency_code=agency.code,
                                at=envelope.occurred_at,
                                source=f"{source}:related:{number}").person
        related_rows.append((other, role))
        related_json.append({"role": role, "person": other.ref, **_jsonable(described)})
    event = row_create(  # held to the batch's end, if in one (``core.held``)
        Event, person=person, type=envelope.type, occurred_at=envelope.occurred_at, recorded_at=now,
        source_agency=agency, source_record=envelope.source_record, submitted_by=actor,
        subject=_jsonable(envelope.subject), related=related_json, data=envelope.data,
        payload_hash=digest,
    )
    for other, role in related_rows:
        row_create(EventRelatedPerson, event=event, person=other, role=role)
    event_related_remember(event, related_rows)
    projected = event_project(event=event, related=related_rows)
    if session is None or (person.pk, agency.pk) not in session.supplied:
        relationship_grant(person=person, agency=agency, reason=GrantReason.SUPPLIED_EVENT,
                           source=f"event:{event.pk}")
        if session is not None:  # live for the rest of the session's transaction
            session.supplied.add((person.pk, agency.pk))
    evaluation = evaluate_event(event, new_event=True)
    result = {
        "event": event.pk,
        "person": person.ref,
        "person_created": resolution.created,
        "matched_on": resolution.matched_on,
        "alerts": [{"id": a.pk, "rule": a.rule_id, "route": a.route} for a in evaluation.alerts],
        "clocks": [{"id": c.pk, "rule": c.rule_id, "deadline": c.deadline.isoformat()}
                   for c in evaluation.clocks],
        "clocks_met": [{"id": c.pk, "rule": c.rule_id} for c in evaluation.met_clocks],
    }
    if evaluation.changed_clocks:
        result["clocks_changed"] = [{"id": c.pk, "rule": c.rule_id, "status": c.status}
                                    for c in evaluation.changed_clocks]
    if evaluation.agenda:
        result["agenda"] = [{"id": a.pk, "meeting": a.meeting} for a in evaluation.agenda]
    detail = {"type": envelope.type, "source": [agency.code, envelope.source_record],
              **{k: v for k, v in result.items() if k != "event"}}
    if projected or evaluation.state_changes:
        detail["changed"] = projected + evaluation.state_changes
    if session is not None and session.batch:
        event.result = result  # written with the rest of the batch, same transaction
        if row_written(event):  # a query in the meantime flushed it without its result
            session.results.append(event)
    else:
        Event.objects.filter(pk=event.pk).update(result=result)
    if session is None:
        audit_append(actor=actor, action="event.accepted", object_type="event",
                     object_id=event.pk, person_id=person.pk, detail=detail)
    else:
        session.audit.append(actor=actor, action="event.accepted", object_type="event",
                             object_id=event.pk, person_id=person.pk, detail=detail)
    return Submission(result=result, created=True)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json_ready(value)
    return result
