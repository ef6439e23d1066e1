"""Who holds a child's case: the allocated worker and the case team alerts are routed to.

Alerts for the allocated worker (and their managers) go to whoever holds the child's case, so
routing asks, alert after alert, for the child's live allocation and case-team relationships.
Within ``allocations_batched`` (one batch of events) they are read for all the batch's people
in one query (``core.person_rows.PersonRows``). Nothing in a batch of events allocates a
worker or hands a case to a team (``access.services.allocation_create`` is a practitioner's
action), so what was read stays what the database holds until the batch ends. Replay and
single submissions read the database every time: there a scenario may allocate between events.
"""

from __future__ import annotations

from django.db.models import ForeignKey

from reachable.access.models import AccessGrant, GrantReason
from reachable.core.person_rows import PersonRows
from reachable.core.sql import instances_where_in
from reachable.organisations.models import Team, User
from reachable.people.models import Person

_CASE_REASONS = (GrantReason.ALLOCATED_WORKER, GrantReason.TEAM_CASE)


def _live_case_grants(person_ids: list[int]) -> list[AccessGrant]:
    """Live allocation and case-team relationships of these people, newest first: the
    grants, then their users (with teams) and teams in a query each, if any."""
    grants = instances_where_in(AccessGrant, "person", person_ids,
                                where={"reason": _CASE_REASONS, "ended_at": None})
    if not grants:
        return grants
    users = User.objects.select_related("team").in_bulk(
        {g.user_id for g in grants if g.user_id is not None})
    teams = Team.objects.in_bulk({g.team_id for g in grants if g.team_id is not None})
    user_field = AccessGrant._meta.get_field("user")
    team_field = AccessGrant._meta.get_field("team")
    assert isinstance(user_field, ForeignKey) and isinstance(team_field, ForeignKey)
    for grant in grants:
        user_field.set_cached_value(grant, users.get(grant.user_id))
        team_field.set_cached_value(grant, teams.get(grant.team_id))
    return sorted(grants, key=lambda g: (g.started_at, g.pk), reverse=True)


_grants: PersonRows[AccessGrant] = PersonRows("case_grants", _live_case_grants,
                                              lambda grant: grant.person_id)

allocations_batched = _grants.batched
allocations_prefetch = _grants.prefetch  # the case relationships of many people at once
allocations_none_yet = _grants.none_yet  # a person created in this batch holds none


def _case_grants(person: Person) -> list[AccessGrant]:
    cached = _grants.cached(person.pk)
    return _live_case_grants([person.pk]) if cached is None else cached


def allocated_worker(person: Person) -> User | None:
    """The child's most recently allocated worker, if any."""
    return next((grant.user for grant in _case_grants(person)
                 if grant.reason == GrantReason.ALLOCATED_WORKER and grant.user is not None),
                None)


def case_team(person: Person) -> Team | None:
    """The team most recently given the child's case, if any."""
    return next((grant.team for grant in _case_grants(person)
                 if grant.reason == GrantReason.TEAM_CASE and grant.team is not None), None)
