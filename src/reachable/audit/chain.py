"""How a record's hash is computed: one function, used when writing and when verifying."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_payload(
    *,
    prev_hash: str,
    at: datetime,
    actor_id: int | None,
    actor_label: str,
    actor_agency: str,
    action: str,
    object_type: str,
    object_id: str,
    person_id: int | None,
    detail: dict[str, Any],
) -> bytes:
    body = {
        "prev": prev_hash,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": [actor_id, actor_label, actor_agency],
        "action": action,
        "object": [object_type, object_id],
        "person": person_id,
        "detail": detail,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def record_hash(**fields: Any) -> str:
    return hashlib.sha256(canonical_payload(**fields)).hexdigest()
