"""The access policy: one place that answers both "may this user open this child?" and "which
children appear in this user's lists?", so the two can never disagree (Wagtail's permission
policies). Access = the role grants the activity AND a live relationship exists (or break-glass).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet

from reachable.access.models import AccessGrant, BreakGlass
from reachable.core import clock
from reachable.organisations.models import AgencyKind, Role, User
from reachable.people.models import Person


class Activity(StrEnum):
    VIEW_RECORD = "view_record"
    VIEW_SENSITIVE = "view_sensitive"
    ACKNOWLEDGE_ALERT = "acknowledge_alert"
    BREAK_GLASS = "break_glass"
    VIEW_RECORD_AUDIT = "view_record_audit"
    VIEW_ANY_RECORD_AUDIT = "view_any_record_audit"
    SUBMIT_EVENT = "submit_event"
    VIEW_TEAM_QUEUE = "view_team_queue"


_PRACTICE = {Activity.VIEW_RECORD, Activity.BREAK_GLASS}
_CSC = _PRACTICE | {Activity.VIEW_SENSITIVE, Activity.ACKNOWLEDGE_ALERT, Activity.VIEW_TEAM_QUEUE}
_LIAISON = _PRACTICE | {Activity.ACKNOWLEDGE_ALERT, Activity.VIEW_TEAM_QUEUE}

ROLE_ACTIVITIES: dict[str, frozenset[Activity]] = {
    Role.MASH_PRACTITIONER: frozenset(_CSC),
    Role.MASH_MANAGER: frozenset(_CSC | {Activity.VIEW_RECORD_AUDIT}),
    Role.SOCIAL_WORKER: frozenset(_CSC),
    Role.TEAM_MANAGER: frozenset(_CSC | {Activity.VIEW_RECORD_AUDIT}),
    Role.IRO: frozenset(_CSC),
    Role.EXPLOITATION_COORDINATOR: frozenset(_CSC),
    Role.POLICE_LIAISON: frozenset(_LIAISON),
    Role.HEALTH_LIAISON: frozenset(_LIAISON),
    Role.EDUCATION_LIAISON: frozenset(_LIAISON),
    Role.HOUSING_LIAISON: frozenset(_LIAISON),
    # Partnership managers work with aggregates (assurance), never individual records.
    Role.PARTNERSHIP_MANAGER: frozenset(),
    # IG officers answer "who looked at this record?" for any child, without reading the record.
    Role.IG_OFFICER: frozenset({Activity.VIEW_ANY_RECORD_AUDIT}),
    Role.AGENCY_SYSTEM: frozenset({Activity.SUBMIT_EVENT}),
}

# Roles whose agency-level relationship ("our agency supplied information about this child")
# is enough to open the record. Social care and MASH roles need a case relationship instead.
_AGENCY_RELATIONSHIP_ROLES = {
    Role.POLICE_LIAISON, Role.HEALTH_LIAISON, Role.EDUCATION_LIAISON, Role.HOUSING_LIAISON,
}

# Roles that see every agency's entries in a chronology they may open. Liaison roles see their
# own agency's entries and the event types shared with their kind of agency.
_WHOLE_CHRONOLOGY_ROLES = {
    Role.MASH_PRACTITIONER, Role.MASH_MANAGER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.IRO,
    Role.EXPLOITATION_COORDINATOR,
}
SHARED_EVENT_PREFIXES: dict[str, tuple[str, ...]] = {
    AgencyKind.POLICE: ("custody.", "arrest.", "county_lines.", "bail.", "missing.",
                        "strategy_discussion.", "mace.", "civil_order.", "person."),
    AgencyKind.HEALTH: ("ed.", "health_condition.", "health_assessment.", "prescription.",
                        "cla.", "placement.", "strategy_discussion.", "person.", "mca."),
    AgencyKind.GP: ("health_condition.", "prescription.", "health_assessment.", "person."),
    AgencyKind.PHARMACY: ("prescription.", "person."),
    AgencyKind.SCHOOL: ("school.", "missing.", "strategy_discussion.", "person."),
    AgencyKind.HOUSING: ("housing.", "strategy_discussion.", "person."),
}


def has_activity(actor: User, activity: Activity) -> bool:
    return actor.is_active and activity in ROLE_ACTIVITIES.get(actor.role, frozenset())


def sees_whole_chronology(actor: User) -> bool:
    return actor.role in _WHOLE_CHRONOLOGY_ROLES


def sees_sensitive(actor: User) -> bool:
    return has_activity(actor, Activity.VIEW_SENSITIVE)


def _relationship_filter(actor: User, at: datetime) -> Q:
    holders = Q(user=actor)
    if actor.team_id:
        holders |= Q(team_id=actor.team_id)
    if actor.agency_id and actor.role in _AGENCY_RELATIONSHIP_ROLES:
        holders |= Q(agency_id=actor.agency_id)
    live = Q(started_at__lte=at) & (Q(ended_at__isnull=True) | Q(ended_at__gt=at))
    return holders & live


class PersonPolicy:
    """Who may open which person's record."""

    @staticmethod
    def visible_people(actor: User, *, at: datetime | None = None) -> QuerySet[Person]:
        """Every person ``actor`` may open now; the only source of lists and of the yes/no."""
        if not has_activity(actor, Activity.VIEW_RECORD):
            return Person.objects.none()
        moment = at or clock.now()
        related = AccessGrant.objects.filter(
            _relationship_filter(actor, moment), person=OuterRef("pk")
        )
        glass = BreakGlass.objects.filter(
            user=actor, person=OuterRef("pk"), started_at__lte=moment, expires_at__gt=moment
        )
        return Person.objects.filter(Exists(related) | Exists(glass))

    @classmethod
    def can_view(cls, actor: User, person_id: int, *, at: datetime | None = None) -> bool:
        return cls.visible_people(actor, at=at).filter(pk=person_id).exists()

    @staticmethod
    def relationships(actor: User, person_id: int) -> QuerySet[AccessGrant]:
        """The live relationships through which ``actor`` sees the person (for "why can I?")."""
        return AccessGrant.objects.filter(
            _relationship_filter(actor, clock.now()), person_id=person_id
        )

    @staticmethod
    def can_view_record_audit(actor: User, person_id: int) -> bool:
        if has_activity(actor, Activity.VIEW_ANY_RECORD_AUDIT):
            return True
        return has_activity(actor, Activity.VIEW_RECORD_AUDIT) and PersonPolicy.can_view(
            actor, person_id
        )
