"""Writes to the access model: relationships, break-glass.

``relationship_grant`` is used by other services (intake, rules) inside their transaction and
covered by their audit record; ``break_glass_open`` is a practitioner action and audits itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from reachable.access.models import AccessGrant, BreakGlass, GrantReason, Notification
from reachable.access.notifications import notification_send
from reachable.access.policies import Activity, has_activity
from reachable.audit.services import audit_append
from reachable.core import clock
from reachable.core.errors import NotFound, PermissionDenied, ValidationFailed
from reachable.core.held import instance_build, rows_insert
from reachable.core.sql import values_where_in
from reachable.organisations.models import Agency, Role, Team, User
from reachable.people.models import Person

MIN_BREAK_GLASS_REASON = 20


_GrantKey = tuple[int, int | None, int | None, int | None, str]
_deferred: ContextVar[dict[_GrantKey, AccessGrant] | None] = ContextVar(
    "deferred_relationships", default=None)


def _key(grant: AccessGrant) -> _GrantKey:
    return (grant.person_id, grant.user_id, grant.team_id, grant.agency_id, grant.reason)


@contextmanager
def relationships_deferred() -> Iterator[None]:
    """Within the block (one transaction of many events), relationships are written at its end.

    ``relationship_grant`` then remembers each new relationship once and returns it unsaved;
    when the block ends without an error, one query finds those already live and one INSERT
    adds the rest. Nothing in event intake reads relationships, so no outcome changes; if the
    block fails, the caller's transaction rolls back and none is written.
    """
    pending: dict[_GrantKey, AccessGrant] = {}
    token = _deferred.set(pending)
    try:
        yield
        _write_new(list(pending.values()))
    finally:
        _deferred.reset(token)


def _write_new(grants: list[AccessGrant]) -> None:
    if not grants:
        return
    live = set(values_where_in(
        AccessGrant, ("person", "user", "team", "agency", "reason"), "person",
        [g.person_id for g in grants],
        where={"reason": sorted({g.reason for g in grants}), "ended_at": None}))
    # One stream, as ``bulk_create`` would store them but without its SQL building.
    rows_insert(AccessGrant, [g for g in grants if _key(g) not in live])


def relationship_grant(
    *,
    person: Person,
    reason: str,
    user: User | None = None,
    team: Team | None = None,
    agency: Agency | None = None,
    source: str = "",
) -> AccessGrant:
    """Record a live relationship unless the same holder already has one for the same reason."""
    pending = _deferred.get()
    if pending is not None:
        # Most are repeats (every alert routed to the MASH about one child): built once.
        key = (person.pk, user.pk if user is not None else None,
               team.pk if team is not None else None, agency.pk if agency is not None else None,
               reason)
        if key not in pending:
            pending[key] = instance_build(
                AccessGrant, person=person, user=user, team=team, agency=agency, reason=reason,
                source=source, started_at=clock.now())
        return pending[key]
    existing = AccessGrant.objects.filter(
        person=person, user=user, team=team, agency=agency, reason=reason, ended_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    return AccessGrant.objects.create(
        person=person, user=user, team=team, agency=agency, reason=reason, source=source,
        started_at=clock.now(),
    )


@transaction.atomic
def allocation_create(*, actor: User | None, person: Person, worker: User) -> AccessGrant:
    """Allocate a worker to a child: the strongest relationship, and their team's too."""
    grant = relationship_grant(person=person, user=worker, reason=GrantReason.ALLOCATED_WORKER,
                               source=f"allocation by {actor.username if actor else 'system'}")
    if worker.team is not None:
        relationship_grant(person=person, team=worker.team, reason=GrantReason.TEAM_CASE,
                           source="allocation")
    audit_append(actor=actor, action="allocation.created", object_type="person",
                 object_id=person.pk, person_id=person.pk,
                 detail={"worker": worker.username,
                         "team": worker.team.code if worker.team else None})
    return grant


def owning_team_managers(person: Person) -> list[User]:
    """Managers of the teams holding the child's case; IG officers when no team holds it."""
    teams = Team.objects.filter(
        access_grants__person=person, access_grants__ended_at__isnull=True,
        access_grants__reason__in=[GrantReason.ALLOCATED_WORKER, GrantReason.TEAM_CASE,
                                   GrantReason.MASH_SCREENING, GrantReason.ALERT_ROUTED],
        manager__isnull=False,
    ).select_related("manager").distinct()
    managers = [t.manager for t in teams if t.manager is not None]
    if managers:
        return managers
    return list(User.objects.filter(role=Role.IG_OFFICER, is_active=True))


@transaction.atomic
def break_glass_open(*, actor: User, person_id: int, reason: str) -> BreakGlass:
    """Open a child's record without a relationship, for a stated reason, for a limited time.

    The owning team's manager is told at once; the elevation is in the audit log for ever.
    """
    if not has_activity(actor, Activity.BREAK_GLASS):
        raise PermissionDenied("Your role cannot use emergency access.")
    reason = (reason or "").strip()
    if len(reason) < MIN_BREAK_GLASS_REASON:
        raise ValidationFailed(
            {"reason": [f"Explain why you need access now (at least {MIN_BREAK_GLASS_REASON} "
                        "characters)."]}
        )
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound("No such person.")
    started = clock.now()
    glass = BreakGlass.objects.create(
        user=actor, person=person, reason=reason, started_at=started,
        expires_at=started + timedelta(minutes=settings.REACHABLE_BREAK_GLASS_MINUTES),
    )
    notified = []
    for manager in owning_team_managers(person):
        notification_send(
            recipient=manager,
            subject=f"Emergency access to {person.ref}",
            body=(f"{actor.display_name} ({actor.get_role_display()}) used emergency access to "
                  f"{person.ref} at {started:%d %b %Y %H:%M}. Reason given: {reason}"),
        )
        notified.append(manager.username)
    audit_append(actor=actor, action="break_glass.opened", object_type="person",
                 object_id=person.pk, person_id=person.pk,
                 detail={"reason": reason, "expires_at": glass.expires_at.isoformat(),
                         "notified": notified})
    return glass


@transaction.atomic
def notifications_mark_read(*, actor: User) -> int:
    """Mark every unread notification of the actor's read; returns how many. Only one's own:
    the filter is the recipient, whatever is asked."""
    now = clock.now()
    count = Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=now)
    if count:
        audit_append(actor=actor, action="notifications.read", object_type="user",
                     object_id=actor.pk, detail={"count": count})
    return count
