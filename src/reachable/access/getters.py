"""``access_person``: load a person the actor may open, or "not found" — the same answer for
missing and forbidden, so the existence of a child's record never leaks (Zulip's access_*)."""

from __future__ import annotations

from reachable.access.policies import PersonPolicy
from reachable.core.errors import NotFound
from reachable.organisations.models import User
from reachable.people.models import Person


def access_person(actor: User, person_id: int | None) -> Person:
    if person_id is None:
        raise NotFound("No such person.")
    person = PersonPolicy.visible_people(actor).filter(pk=person_id).first()
    if person is None:
        raise NotFound("No such person.")
    return person
