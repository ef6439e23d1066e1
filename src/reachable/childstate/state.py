"""Keeping a child's derived state current from events, and reading it back for rules.

``state_apply`` runs inside the intake transaction for every accepted event, before the rules
are evaluated, so a rule triggered by an event sees the state that event implies (a
``cla.started`` makes the child looked after before the rules for ``cla.started`` run).
``child_state`` reads the current flags into a small immutable snapshot the rules' conditions
ask plain questions of ("is this a known child?"), each answer traceable to events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from reachable.childstate.models import ChildFlag, Flag
from reachable.chronology.models import Event
from reachable.chronology.related import event_related
from reachable.core.held import row_create
from reachable.core.person_rows import PersonRows
from reachable.core.sql import instances_where_in
from reachable.people.models import Person

EXPLOITATION_LEVELS = ("none", "emerging", "moderate", "significant")
MISSING_HISTORY = timedelta(days=365)


def level_at_least(level: str | None, floor: str) -> bool:
    if level not in EXPLOITATION_LEVELS:
        return False
    return EXPLOITATION_LEVELS.index(level) >= EXPLOITATION_LEVELS.index(floor)


def _related(event: Event, *roles: str) -> list[Person]:
    return [person for person, role in event_related(event) if not roles or role in roles]


def _live_of(person_ids: list[int]) -> list[ChildFlag]:
    """The flags of these people not cleared, in the model's order (set, id)."""
    return sorted(instances_where_in(ChildFlag, "person", person_ids,
                                     where={"cleared_at": None}),
                  key=lambda row: (row.set_at, row.pk))


_flags: PersonRows[ChildFlag] = PersonRows("live_flags", _live_of, lambda row: row.person_id)

# Within ``flags_batched`` (one transaction of many events), each person's live flags are
# read once and then kept current in memory by ``state_apply``, the only writer of flags.
flags_batched = _flags.batched
flags_prefetch = _flags.prefetch  # the live flags of many people at once
flags_none_yet = _flags.none_yet


def live_flags(person: Person) -> list[ChildFlag]:
    """The person's flags not cleared, oldest first."""
    cached = _flags.cached(person.pk)
    if cached is None:
        return _live_of([person.pk])
    return list(cached)


def _remember(row: ChildFlag) -> None:
    held = _flags.known(row.person_id)
    if held is None:
        return
    rows = [r for r in held if r.pk != row.pk]
    if row.cleared_at is None:
        rows.append(row)
        rows.sort(key=lambda r: (r.set_at, r.pk))
    _flags.put(row.person_id, rows)


class _Writer:
    """Sets and clears flags for one event; records what changed for the audit record."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.changes: list[str] = []

    def set(self, person: Person, flag: Flag, key: str = "",
            value: dict[str, Any] | None = None) -> None:
        current = next((row for row in live_flags(person)
                        if row.flag == flag and row.key == key), None)
        if current is not None:
            if value is None or current.value == value:
                return  # already so: the earlier event stays the reason
            self._clear_row(current)
        _remember(row_create(ChildFlag, person=person, flag=flag, key=key, value=value or {},
                             set_by=self.event, set_at=self.event.occurred_at))
        self.changes.append(f"+{flag.value}" + (f":{key}" if key else ""))

    def clear(self, person: Person, flag: Flag, key: str | None = None) -> None:
        rows = [row for row in live_flags(person)
                if row.flag == flag and (key is None or row.key == key)]
        for row in rows:
            self._clear_row(row)
            self.changes.append(f"-{flag.value}" + (f":{row.key}" if row.key else ""))

    def _clear_row(self, row: ChildFlag) -> None:
        row.cleared_by = self.event
        row.cleared_at = self.event.occurred_at
        row.save(update_fields=["cleared_by", "cleared_at"])
        _remember(row)


def state_apply(event: Event) -> list[str]:
    """Apply what ``event`` says about the state of the people it names."""
    w = _Writer(event)
    person = event.person
    data = event.data or {}
    kind = event.type
    if kind == "contact.received":
        w.set(person, Flag.OPEN_MASH_CONTACT, str(event.pk))
        if data.get("accepted_as_referral"):
            w.set(person, Flag.OPEN_REFERRAL)
    elif kind == "mash.decided":
        w.clear(person, Flag.OPEN_MASH_CONTACT)
        if data.get("outcome") in ("no_further_action", "early_help"):
            w.clear(person, Flag.OPEN_REFERRAL)
        else:
            w.set(person, Flag.OPEN_REFERRAL)
    elif kind == "assessment.started":
        w.set(person, Flag.OPEN_ASSESSMENT)
    elif kind == "assessment.completed":
        w.clear(person, Flag.OPEN_ASSESSMENT)
        w.clear(person, Flag.OPEN_REFERRAL)
        if "cin" in str(data.get("outcome") or "").lower():
            w.set(person, Flag.CIN_PLAN)
    elif kind == "s47.started" or (kind == "strategy_discussion.held"
                                   and data.get("outcome") == "s47"):
        w.set(person, Flag.S47_ENQUIRY)
    elif kind == "s47.completed":
        w.clear(person, Flag.S47_ENQUIRY)
        if data.get("outcome") == "cin":
            w.set(person, Flag.CIN_PLAN)
    elif kind == "cp_plan.started" or (kind == "icpc.held" and data.get("plan")):
        w.clear(person, Flag.S47_ENQUIRY)
        w.set(person, Flag.CP_PLAN)
    elif kind == "cp_plan.ended" or (kind == "cp_review.held"
                                     and data.get("plan_continues") is False):
        w.clear(person, Flag.CP_PLAN)
    elif kind in ("cla.started", "cla.legal_status_changed"):
        w.set(person, Flag.LOOKED_AFTER, value={"legal_status": data.get("legal_status")})
    elif kind == "cla.ended":
        w.clear(person, Flag.LOOKED_AFTER)
        w.clear(person, Flag.PLACEMENT)
    elif kind == "placement.started":
        w.set(person, Flag.PLACEMENT, value={
            "placement_type": data.get("placement_type"), "provider": data.get("provider"),
            "health_information_shared": bool(data.get("health_information_shared")),
        })
    elif kind == "placement.ended":
        w.clear(person, Flag.PLACEMENT)
    elif kind == "youth_justice.order_started":
        w.set(person, Flag.YOUTH_JUSTICE_ORDER, value={"order": data.get("order")})
    elif kind == "exploitation_screening.completed":
        if data.get("level") in (None, "none"):
            w.clear(person, Flag.EXPLOITATION)
        else:
            w.set(person, Flag.EXPLOITATION,
                  value={"level": data.get("level"), "kind": data.get("kind") or ""})
    elif kind == "school.ehe_registered":
        w.set(person, Flag.EHE, value={"school": data.get("school") or ""})
    elif kind == "school.place_offered":
        w.clear(person, Flag.EHE)
        w.clear(person, Flag.SCHOOL_APPLICATION, str(data.get("application_id") or ""))
    elif kind == "school.application_received":
        w.set(person, Flag.SCHOOL_APPLICATION, str(data.get("application_id") or ""))
    elif kind == "housing.application_received":
        w.set(person, Flag.HOUSING_APPLICATION, str(data.get("application_id") or ""))
    elif kind == "missing.reported":
        w.set(person, Flag.MISSING_NOW, str(data.get("episode_id") or ""))
    elif kind == "missing.returned":
        w.clear(person, Flag.MISSING_NOW)
    elif kind == "health_condition.recorded":
        condition = str(data.get("condition") or "").strip()
        w.set(person, Flag.CHRONIC_CONDITION, condition.lower()[:120], value={
            "condition": condition, "medication": data.get("medication") or "",
            "affects_decision_making": bool(data.get("affects_decision_making")),
        })
    elif kind == "bail.condition_set" and data.get("no_contact"):
        reference = str(data.get("reference") or event.pk)
        for child in _related(event, "protected_child"):
            w.set(child, Flag.BAIL_PROTECTED_FROM, str(person.pk),
                  value={"adult": person.pk, "reference": reference})
            w.set(person, Flag.BAILED_NO_CONTACT, str(child.pk),
                  value={"child": child.pk, "reference": reference})
    elif kind == "bail.condition_ended":
        reference = str(data.get("reference") or "")
        for row in [r for r in live_flags(person) if r.flag == Flag.BAILED_NO_CONTACT]:
            if reference and row.value.get("reference") != reference:
                continue
            w.clear(person, Flag.BAILED_NO_CONTACT, row.key)
            protected = Person.objects.filter(pk=row.value.get("child")).first()
            if protected is not None:
                w.clear(protected, Flag.BAIL_PROTECTED_FROM, str(person.pk))
    elif kind == "relationship.recorded" and data.get("kind") in ("adult_of_concern",
                                                                    "exploited_peer"):
        for other in _related(event, "related"):
            w.set(other, Flag.ADULT_OF_CONCERN, value={"as": data.get("kind")})
            w.set(person, Flag.LINKED_TO_ADULT_OF_CONCERN, str(other.pk),
                  value={"person": other.pk, "kind": data.get("kind")})
    elif kind == "nrm.referred":
        w.set(person, Flag.NRM_REFERRED, value={"kind": data.get("kind") or ""})
    elif kind == "civil_order.granted":
        w.set(person, Flag.CIVIL_ORDER, str(data.get("order") or ""),
              value={"expires_on": data.get("expires_on")})
    return w.changes


@dataclass(frozen=True)
class ChildState:
    """A snapshot of one person's current flags and recent missing history."""

    person: Person
    on: date
    flags: tuple[ChildFlag, ...] = ()
    # Read only when a rule asks: most conditions never look at the missing history.
    missing_query: Callable[[], tuple[Event, ...]] = field(
        default=tuple, repr=False, compare=False)

    @cached_property
    def missing_reports(self) -> tuple[Event, ...]:
        """Missing reports in the year before the snapshot's moment, oldest first."""
        return self.missing_query()

    def current(self, flag: Flag) -> list[ChildFlag]:
        return [f for f in self.flags if f.flag == flag]

    def has(self, flag: Flag) -> bool:
        return any(f.flag == flag for f in self.flags)

    @property
    def is_child(self) -> bool:
        return self.person.is_child_on(self.on)

    @property
    def exploitation_level(self) -> str | None:
        rows = self.current(Flag.EXPLOITATION)
        return str(rows[-1].value.get("level")) if rows else None

    @property
    def legal_status(self) -> str | None:
        rows = self.current(Flag.LOOKED_AFTER)
        return str(rows[-1].value.get("legal_status")) if rows else None

    @property
    def looked_after(self) -> bool:
        return self.has(Flag.LOOKED_AFTER)

    @property
    def chronic_conditions(self) -> list[ChildFlag]:
        return self.current(Flag.CHRONIC_CONDITION)

    @property
    def missing_in_last_year(self) -> bool:
        return bool(self.missing_reports)

    def known_child_reasons(self) -> list[ChildFlag | Event]:
        """What makes this a known child (``rules.md``): the flags and events, or nothing."""
        if not self.is_child:
            return []
        reasons: list[ChildFlag | Event] = [
            f for f in self.flags if f.flag in (
                Flag.OPEN_REFERRAL, Flag.OPEN_ASSESSMENT, Flag.CIN_PLAN, Flag.CP_PLAN,
                Flag.LOOKED_AFTER, Flag.YOUTH_JUSTICE_ORDER, Flag.OPEN_MASH_CONTACT,
                Flag.S47_ENQUIRY,
            ) or (f.flag == Flag.EXPLOITATION and level_at_least(f.value.get("level"),
                                                                 "moderate"))
        ]
        reasons.extend(self.missing_reports[-1:])
        return reasons

    @property
    def known_child(self) -> bool:
        return bool(self.known_child_reasons())


def child_state(person: Person, *, at: datetime, exclude_event: Event | None = None
                ) -> ChildState:
    """The person's current state as of ``at``.

    ``exclude_event`` leaves one event out of the missing history: rules triggered by that very
    event ask about the child as they were before it ("known before this EHE registration?").
    """
    flags = tuple(live_flags(person))

    def missing() -> tuple[Event, ...]:
        # Built only when a rule asks: most evaluations never look at the missing history,
        # and building the query cost more than everything else the state needs.
        reports = Event.objects.filter(person=person, type="missing.reported",
                                       occurred_at__gt=at - MISSING_HISTORY,
                                       occurred_at__lte=at)
        if exclude_event is not None:
            reports = reports.exclude(pk=exclude_event.pk)
        return tuple(reports.order_by("occurred_at", "id"))

    return ChildState(person=person, on=at.date(), flags=flags, missing_query=missing)


def flags_for(people: Iterable[Person]) -> dict[int, list[ChildFlag]]:
    """Current flags for many people at once (child pages, queues)."""
    result: dict[int, list[ChildFlag]] = {}
    for row in ChildFlag.objects.filter(person__in=list(people), cleared_at__isnull=True):
        result.setdefault(row.person_id, []).append(row)
    return result
