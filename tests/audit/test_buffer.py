"""``AuditBuffer``: records chained at once, written together, and exactly the right ones kept
when a savepoint inside the buffered block rolls back (even one that flushed the buffer)."""

from __future__ import annotations

import pytest
from django.db import transaction

from reachable.audit.models import AuditRecord
from reachable.audit.services import audit_append, audit_buffered
from reachable.audit.verify import verify_chain


class Boom(Exception):
    pass


@pytest.mark.django_db
def test_buffered_records_are_written_at_the_end_in_chain_order() -> None:
    with transaction.atomic(), audit_buffered() as buffer:
        buffer.append(actor=None, action="a.one", object_type="t")
        buffer.append(actor=None, action="a.two", object_type="t")
        assert not AuditRecord.objects.exists()
    assert list(AuditRecord.objects.order_by("id").values_list("action", flat=True)) == [
        "a.one", "a.two"]
    assert verify_chain().intact


@pytest.mark.django_db
def test_rollback_to_a_mark_keeps_earlier_records_even_if_the_savepoint_flushed() -> None:
    with transaction.atomic(), audit_buffered() as buffer:
        buffer.append(actor=None, action="kept.one", object_type="t")
        mark = buffer.mark()
        with pytest.raises(Boom), transaction.atomic():
            buffer.append(actor=None, action="lost.one", object_type="t")
            audit_append(actor=None, action="lost.direct", object_type="t")  # flushes first
            raise Boom
        buffer.rollback_to(mark)
        buffer.append(actor=None, action="kept.two", object_type="t")
    actions = list(AuditRecord.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["kept.one", "kept.two"]
    assert verify_chain().intact


@pytest.mark.django_db
def test_a_failed_block_writes_nothing() -> None:
    with pytest.raises(Boom), transaction.atomic(), audit_buffered() as buffer:
        buffer.append(actor=None, action="lost", object_type="t")
        raise Boom
    assert not AuditRecord.objects.exists()
