"""What an accepted event changes about the people it names, beyond the chronology entry.

The chronology is the record of what agencies said; these projections keep the people index
current from it (a relationship, a new address, a death), inside the same transaction, so the
person's page and the rules see the state the events imply and every change can be traced back
to the event that made it.
"""

from __future__ import annotations

from datetime import date

from reachable.chronology.models import Event
from reachable.people.models import Person
from reachable.people.records import address_row_add, relationship_row_add
from reachable.people.validators import normalise_postcode


def event_project(*, event: Event, related: list[tuple[Person, str]]) -> list[str]:
    """Apply the event's effects on people; returns what changed, for the audit record."""
    changes: list[str] = []
    agency = event.source_agency.code
    if event.type == "relationship.recorded":
        kind = str(event.data.get("kind") or "other")
        for other, role in related:
            if role == "related" and relationship_row_add(
                person=event.person, related=other, kind=kind, at=event.occurred_at,
                source_agency=agency,
            ):
                changes.append(f"relationship:{kind}:{other.ref}")
    elif event.type == "person.address_changed":
        # Validated at intake; stored in its canonical form ("n153rt" -> "N15 3RT").
        postcode = normalise_postcode(str(event.data.get("postcode") or ""))
        if postcode and address_row_add(
            person=event.person, postcode=postcode, line=str(event.data.get("line") or ""),
            at=event.occurred_at, source_agency=agency,
        ):
            changes.append(f"address:{postcode}")
    elif event.type == "person.died":
        died_on = event.data.get("date_of_death")
        if died_on and event.person.died_on is None:
            event.person.died_on = date.fromisoformat(str(died_on))
            event.person.save(update_fields=["died_on"])
            changes.append(f"died_on:{died_on}")
    return changes
