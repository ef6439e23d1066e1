"""Helpers shared by the domain tests: row-count snapshots ("nothing was written") and the
standard moment at which the borough's events happen.

Kept separate from ``borough.py`` (shared by every helper) so the domain suites can grow
without churning that module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Model

from reachable.access.models import AccessGrant, BreakGlass, Notification
from reachable.audit.models import AuditRecord
from reachable.chronology.models import Event
from reachable.people.models import Address, Identifier, Person, PersonName
from reachable.rules.models import Alert, Clock

# Events happen at 10:10; "now" is five minutes later, well inside the golden hour.
AT = datetime.fromisoformat("2025-03-06T10:15:00+00:00")

WRITTEN_MODELS: tuple[type[Model], ...] = (
    Event, Person, PersonName, Identifier, Address, Alert, Clock, AccessGrant, BreakGlass,
    Notification, AuditRecord,
)


def row_counts() -> dict[str, int]:
    """How many rows each domain table holds (compare before/after to prove nothing changed)."""
    return {m.__name__: m._default_manager.count() for m in WRITTEN_MODELS}


def with_changes(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A shallow copy of an event payload with top-level keys replaced."""
    result = dict(payload)
    result.update(changes)
    return result
