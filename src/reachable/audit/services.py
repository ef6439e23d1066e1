"""Writing to the audit log.

``audit_append`` is called inside the caller's transaction, so the audit record commits or
rolls back with the change it describes. Appends are serialised (an advisory lock on
PostgreSQL; SQLite's single writer elsewhere) so that the chain has exactly one successor per
record even under concurrent requests.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from django.db import connection, transaction

from reachable.audit.chain import GENESIS_HASH, record_hash
from reachable.audit.models import AuditRecord
from reachable.core import clock

# Arbitrary constant key for the PostgreSQL advisory lock guarding the chain's tail.
_CHAIN_LOCK_KEY = 7_201_114_099


class Actor(Protocol):
    pk: Any

    def audit_label(self) -> str: ...

    def audit_agency(self) -> str: ...


def _lock_chain_tail() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def _json_safe(detail: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so the hashed form equals what the database gives back later.
    result: dict[str, Any] = json.loads(json.dumps(detail, default=str))
    return result


def audit_append(
    *,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str | int = "",
    person_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one record to the chain inside the current transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_append must run inside the transaction of the change it records")
    _lock_chain_tail()
    previous = AuditRecord.objects.order_by("-id").values_list("hash", flat=True).first()
    fields: dict[str, Any] = {
        "prev_hash": previous or GENESIS_HASH,
        "at": clock.now(),
        "actor_id": actor.pk if actor is not None else None,
        "actor_label": actor.audit_label() if actor is not None else "system",
        "actor_agency": actor.audit_agency() if actor is not None else "",
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "person_id": person_id,
        "detail": _json_safe(detail or {}),
    }
    return AuditRecord.objects.create(hash=record_hash(**fields), **fields)
