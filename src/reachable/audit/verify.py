"""Checking the chain: recompute every hash in order and name the first record that fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reachable.audit.chain import GENESIS_HASH, record_hash
from reachable.audit.models import AuditRecord


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    records: int
    first_broken_id: int | None = None
    reason: str = ""


def verify_chain(*, batch_size: int = 5000,
                 progress: Callable[[int], None] | None = None) -> ChainReport:
    """Walk the whole log in id order, streaming in batches so memory stays flat.

    ``progress`` is told the number of records checked after each batch (a log that every
    read of a child appends to grows by millions; whoever runs the check sees it move)."""
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        if progress is not None and checked:
            progress(checked)
        batch = list(AuditRecord.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return ChainReport(intact=True, records=checked)
        for record in batch:
            if record.prev_hash != expected_prev:
                return ChainReport(
                    False, checked, record.pk,
                    "its link to the previous record does not match (a record before it was "
                    "removed or altered)",
                )
            recomputed = record_hash(
                prev_hash=record.prev_hash, at=record.at, actor_id=record.actor_id,
                actor_label=record.actor_label, actor_agency=record.actor_agency,
                action=record.action, object_type=record.object_type,
                object_id=record.object_id, person_id=record.person_id, detail=record.detail,
            )
            if recomputed != record.hash:
                return ChainReport(
                    False, checked, record.pk, "its contents do not match its hash (altered)"
                )
            expected_prev = record.hash
            checked += 1
            last_id = record.pk
