"""The people an event names besides its subject (bail subjects, co-arrested, related adults).

Derived state and several rules ask the same question of the event being accepted; intake has
just written the answer, so it hands the rows over with ``event_related_remember`` and the
readers in the same transaction never query for them. Events are immutable, so an answer,
once read, stays true.
"""

from __future__ import annotations

from collections.abc import Iterable

from reachable.chronology.models import Event, EventRelatedPerson
from reachable.people.models import Person

_ATTRIBUTE = "_related_people_rows"


def event_related_remember(event: Event, rows: Iterable[tuple[Person, str]]) -> None:
    """Attach the (person, role) rows just written for ``event`` to the instance."""
    setattr(event, _ATTRIBUTE, list(rows))


def event_related(event: Event) -> list[tuple[Person, str]]:
    """(person, role) for everyone ``event`` names besides its subject, in recorded order."""
    rows: list[tuple[Person, str]] | None = getattr(event, _ATTRIBUTE, None)
    if rows is None:
        rows = [(row.person, row.role) for row in
                EventRelatedPerson.objects.filter(event=event).select_related("person")
                .order_by("pk")]
        setattr(event, _ATTRIBUTE, rows)
    return rows
