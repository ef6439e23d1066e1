"""Reads of child data. Every function takes the actor, scopes by the access policy and
writes an audit record of what was read, in the request's transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from reachable.access.getters import access_person
from reachable.access.models import AccessGrant, Notification
from reachable.access.policies import (
    SHARED_EVENT_PREFIXES,
    PersonPolicy,
    sees_sensitive,
    sees_whole_chronology,
)
from reachable.audit.models import AuditRecord
from reachable.audit.selectors import audit_views_of_person
from reachable.audit.services import audit_append
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.errors import NotFound
from reachable.intake.vocabulary import SENSITIVE_FIELDS
from reachable.mpi.selectors import current_person_id
from reachable.organisations.models import User
from reachable.people.models import Identifier, Person, PersonName, parse_person_ref
from reachable.people.validators import name_key, normalise_nhs_number, normalise_upn
from reachable.rules.models import Alert, AlertStatus, Clock, ClockStatus
from reachable.rules.policies import AlertPolicy, access_alert

SEARCH_LIMIT = 50
REDACTED = "[sealed]"


def _parse_date(text: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _identifier_match(text: str) -> QuerySet[Identifier] | None:
    compact = re.sub(r"[\s-]", "", text)
    for normalise in (normalise_nhs_number, normalise_upn):
        try:
            return Identifier.objects.filter(value=normalise(compact))
        except ValueError:
            continue
    if re.fullmatch(r"\d{2,4}/\d{1,7}[A-Za-z]", compact):
        return Identifier.objects.filter(value=compact.upper())
    return None


def people_search(*, actor: User, query: str) -> list[Person]:
    """People the actor may open, matching a name, a date of birth, an identifier or a ref."""
    text = (query or "").strip()
    if not text:
        return []
    # A record merged into another is not listed; its P-ref finds the survivor (reachable.mpi).
    people = PersonPolicy.visible_people(actor).filter(merged_into__isnull=True)
    ref = parse_person_ref(text) if text.upper().startswith("P-") else None
    if ref is not None:
        ref = current_person_id(ref)
    dob = _parse_date(text)
    identifiers = _identifier_match(text)
    if ref is not None:
        people = people.filter(pk=ref)
    elif dob is not None:
        people = people.filter(date_of_birth=dob)
    elif identifiers is not None:
        people = people.filter(pk__in=identifiers.values("person_id"))
    else:
        names = PersonName.objects.filter(person=OuterRef("pk"))
        for token in name_key(text).split():
            names = names.filter(name_key__contains=token)
        people = people.filter(Exists(names))
    results = list(people.order_by("family_name", "given_name", "id")[:SEARCH_LIMIT])
    audit_append(actor=actor, action="people.searched", object_type="search",
                 detail={"query": text, "results": [p.pk for p in results]})
    return results


@dataclass(frozen=True)
class ChronologyEntry:
    event: Event
    data: dict[str, Any]
    restricted: bool


@dataclass(frozen=True)
class PersonRecord:
    person: Person
    identifiers: list[Identifier]
    names: list[PersonName]
    chronology: list[ChronologyEntry]
    hidden_entries: int
    alerts: list[Alert]
    clocks: list[Clock]
    relationships: list[AccessGrant]
    via_break_glass: bool


def _visible_entry(actor: User, event: Event) -> bool:
    if sees_whole_chronology(actor):
        return True
    if actor.agency_id == event.source_agency_id:
        return True
    kind = actor.agency.kind if actor.agency else ""
    return event.type.startswith(SHARED_EVENT_PREFIXES.get(kind, ()))


def _redact(actor: User, data: dict[str, Any]) -> dict[str, Any]:
    if sees_sensitive(actor):
        return data
    return {k: (REDACTED if k in SENSITIVE_FIELDS else v) for k, v in data.items()}


def person_record(*, actor: User, person_id: int | None) -> PersonRecord:
    """Open a child's record: identifiers, the chronology the actor may see, alerts, clocks."""
    person = access_person(actor, person_id)
    events = Event.objects.filter(person=person).select_related("source_agency").order_by(
        "-occurred_at", "-id"
    )
    entries = []
    hidden = 0
    for event in events:
        if _visible_entry(actor, event):
            entries.append(ChronologyEntry(event, _redact(actor, event.data), False))
        else:
            hidden += 1
    relationships = list(PersonPolicy.relationships(actor, person.pk))
    audit_append(actor=actor, action="person.viewed", object_type="person", object_id=person.pk,
                 person_id=person.pk,
                 detail={"entries_shown": len(entries), "entries_withheld": hidden,
                         "via": sorted({g.reason for g in relationships}) or ["break_glass"]})
    return PersonRecord(
        person=person,
        identifiers=list(person.identifiers.order_by("kind")),
        names=list(person.names.order_by("id")),
        chronology=entries,
        hidden_entries=hidden,
        alerts=list(Alert.objects.filter(person=person).select_related("team", "event")
                    .order_by("-raised_at")),
        clocks=list(Clock.objects.filter(person=person).order_by("-started_at")),
        relationships=relationships,
        via_break_glass=not relationships,
    )


def record_viewers(*, actor: User, person_id: int | None) -> list[AuditRecord]:
    """Who viewed this record, for managers with a relationship and IG officers."""
    if person_id is None or not Person.objects.filter(pk=person_id).exists():
        raise NotFound("No such person.")
    if not PersonPolicy.can_view_record_audit(actor, person_id):
        raise NotFound("No such person.")
    views = list(audit_views_of_person(person_id=person_id)[:500])
    audit_append(actor=actor, action="person.audit_viewed", object_type="person",
                 object_id=person_id, person_id=person_id, detail={"rows": len(views)})
    return views


def team_alert_queue(*, actor: User, include_closed: bool = False) -> list[Alert]:
    """The alerts routed to the actor's team(s), oldest deadline first."""
    alerts = AlertPolicy.visible_alerts(actor).select_related("person", "event", "team")
    if not include_closed:
        alerts = alerts.filter(status=AlertStatus.OPEN)
    result = list(alerts.prefetch_related("clocks").order_by("raised_at", "id")[:500])
    audit_append(actor=actor, action="alerts.listed", object_type="queue",
                 detail={"alerts": [a.pk for a in result]})
    return result


def open_clock(alert: Alert) -> Clock | None:
    clocks = [c for c in alert.clocks.all() if c.status == ClockStatus.OPEN]
    return clocks[0] if clocks else None


@dataclass(frozen=True)
class AlertDetail:
    alert: Alert
    clocks: list[Clock]
    can_acknowledge: bool


def alert_detail(*, actor: User, alert_id: int) -> AlertDetail:
    """One alert from the actor's queue with its clocks. Audited: it shows a child's name and
    what happened to them, so it is a read of the child's record like any other."""
    alert = access_alert(actor, alert_id)
    clocks = list(alert.clocks.order_by("started_at", "id"))
    audit_append(actor=actor, action="alert.viewed", object_type="alert", object_id=alert.pk,
                 person_id=alert.person_id, detail={"rule": alert.rule_id})
    return AlertDetail(alert=alert, clocks=clocks,
                       can_acknowledge=AlertPolicy.can_acknowledge(actor, alert))


@dataclass(frozen=True)
class QueueCounts:
    open: int
    overdue: int


def team_alert_counts(*, actor: User) -> QueueCounts:
    """How many of the team's alerts are open and overdue, for the dashboard. Not audited:
    counts name no child, and auditing every page load would bury the reads that matter."""
    alerts = AlertPolicy.visible_alerts(actor).filter(status=AlertStatus.OPEN)
    overdue = alerts.filter(clocks__status__in=[ClockStatus.OPEN, ClockStatus.BREACHED],
                            clocks__deadline__lte=clock.now()).distinct()
    return QueueCounts(open=alerts.count(), overdue=overdue.count())


def notification_list(*, actor: User, limit: int = 200) -> list[Notification]:
    """The actor's own notifications, newest first. Not audited: they are messages addressed
    to the actor (break-glass uses, escalations), already recorded when they were sent."""
    return list(Notification.objects.filter(recipient=actor).order_by("-created_at", "-id")
                [:limit])
