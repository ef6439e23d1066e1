"""``event_submit``: the one door through which every fact enters Reachable.

API, file import, web forms and scenario replay all call this. In one transaction it
validates the envelope, resolves the subject (and related people) to persons, appends the
event to the chronology, evaluates the rules (alerts, clocks) and writes the audit record.
No event without its alerts; no alert without its event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from reachable.access.models import GrantReason
from reachable.access.policies import Activity, has_activity
from reachable.access.services import relationship_grant
from reachable.audit.services import audit_append
from reachable.chronology.models import Event, EventRelatedPerson
from reachable.core import clock
from reachable.core.errors import PermissionDenied, ValidationFailed
from reachable.identity.resolver import resolve_subject
from reachable.intake.schemas import ValidEnvelope, validate_envelope
from reachable.organisations.models import Agency, User
from reachable.rules.engine import evaluate_event


@dataclass(frozen=True)
class Submission:
    result: dict[str, Any]
    created: bool  # False when this was a resubmission of an event already accepted


class DuplicateConflict(ValidationFailed):
    """Same agency record id, different content: not a retry, so refused."""


def _payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def _agency_for(actor: User | None, code: str) -> Agency:
    agency = Agency.objects.filter(code=code).first()
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
        raise DuplicateConflict({"source.record": [
            "This agency record id was already submitted with different content. "
            "Send corrections with a new record id."
        ]})
    return Submission(result=event.result, created=False)


def event_submit(*, actor: User | None, payload: dict[str, Any]) -> Submission:
    """Accept one event (idempotent on source agency + record id).

    ``actor`` is the agency system (or practitioner) submitting; ``None`` is the platform
    itself (replay, demo generation), which may submit for any agency.
    """
    envelope = validate_envelope(payload)
    digest = _payload_hash(payload)
    agency = _agency_for(actor, envelope.source_agency)
    previous = _existing(agency, envelope.source_record, digest)
    if previous is not None:
        return previous
    try:
        with transaction.atomic():
            return _accept(actor=actor, agency=agency, envelope=envelope, digest=digest)
    except IntegrityError:
        # A concurrent submission of the same record won the race; answer as it did.
        previous = _existing(agency, envelope.source_record, digest)
        if previous is None:
            raise
        return previous


def _accept(*, actor: User | None, agency: Agency, envelope: ValidEnvelope, digest: str
            ) -> Submission:
    now = clock.now()
    resolution = resolve_subject(subject=envelope.subject, agency_code=agency.code,
                                 at=envelope.occurred_at)
    person = resolution.person
    related_rows = []
    related_json = []
    for related in envelope.related:
        role = related.pop("role", "related")
        other = resolve_subject(subject=related, agency_code=agency.code,
                                at=envelope.occurred_at).person
        related_rows.append((other, role))
        related_json.append({"role": role, "person": other.ref, **_jsonable(related)})
    event = Event.objects.create(
        person=person, type=envelope.type, occurred_at=envelope.occurred_at, recorded_at=now,
        source_agency=agency, source_record=envelope.source_record, submitted_by=actor,
        subject=_jsonable(envelope.subject), related=related_json, data=envelope.data,
        payload_hash=digest,
    )
    EventRelatedPerson.objects.bulk_create(
        [EventRelatedPerson(event=event, person=p, role=r) for p, r in related_rows]
    )
    relationship_grant(person=person, agency=agency, reason=GrantReason.SUPPLIED_EVENT,
                       source=f"event:{event.pk}")
    evaluation = evaluate_event(event)
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
    Event.objects.filter(pk=event.pk).update(result=result)
    audit_append(actor=actor, action="event.accepted", object_type="event", object_id=event.pk,
                 person_id=person.pk,
                 detail={"type": envelope.type, "source": [agency.code, envelope.source_record],
                         **{k: v for k, v in result.items() if k != "event"}})
    return Submission(result=result, created=True)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return result
