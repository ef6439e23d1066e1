"""``AuditBuffer``: records chained at once, written together, and exactly the right ones kept
when a savepoint inside the buffered block rolls back (even one that flushed the buffer)."""

from __future__ import annotations

import pytest
from django.db import transaction

from reachable.audit.models import AuditRecord
from reachable.audit.services import audit_append, audit_buffered, audit_deferred
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


def _actions() -> list[str]:
    return list(AuditRecord.objects.order_by("id").values_list("action", flat=True))


@pytest.mark.django_db
def test_a_deferral_writes_its_levels_records_at_its_end() -> None:
    with transaction.atomic(), audit_deferred():
        audit_append(actor=None, action="read.one", object_type="t")
        audit_append(actor=None, action="read.two", object_type="t")
        assert not AuditRecord.objects.exists()
    assert _actions() == ["read.one", "read.two"]
    assert verify_chain().intact


@pytest.mark.django_db
def test_a_deferrals_records_are_never_written_inside_a_savepoint_that_rolls_back() -> None:
    """A service's own atomic block writes its records at once, and they go with it if it
    rolls back; the view's waiting records are not flushed into it, so they survive."""
    with transaction.atomic(), audit_deferred():
        audit_append(actor=None, action="read.before", object_type="t")
        with pytest.raises(Boom), transaction.atomic():
            audit_append(actor=None, action="write.lost", object_type="t")
            assert _actions() == ["write.lost"]  # written at once, the read still waiting
            raise Boom
        with transaction.atomic():
            audit_append(actor=None, action="write.kept", object_type="t")
        audit_append(actor=None, action="read.after", object_type="t")
    assert _actions() == ["write.kept", "read.before", "read.after"]
    assert verify_chain().intact


@pytest.mark.django_db
def test_a_batch_inside_a_deferral_is_chained_after_what_the_deferral_wrote() -> None:
    with transaction.atomic(), audit_deferred():
        audit_append(actor=None, action="read.first", object_type="t")
        with transaction.atomic(), audit_buffered() as buffer:
            buffer.append(actor=None, action="batch.one", object_type="t")
        with audit_buffered() as buffer:  # at the deferral's own level: it writes first
            buffer.append(actor=None, action="batch.two", object_type="t")
    assert _actions() == ["batch.one", "read.first", "batch.two"]
    assert verify_chain().intact


@pytest.mark.django_db
def test_a_deferral_in_a_transaction_marked_to_roll_back_writes_nothing_and_raises_nothing(
        ) -> None:
    """As Django REST framework marks a request whose view answered with an error."""
    with transaction.atomic():
        with transaction.atomic():
            audit_append(actor=None, action="write.undone", object_type="t")
            with audit_deferred():
                audit_append(actor=None, action="read.undone", object_type="t")
                transaction.set_rollback(True)
        assert transaction.get_rollback() is False  # the savepoint rolled back, not more
    assert not AuditRecord.objects.exists()


@pytest.mark.django_db
def test_a_failed_deferral_writes_nothing() -> None:
    with pytest.raises(Boom), transaction.atomic(), audit_deferred():
        audit_append(actor=None, action="read.lost", object_type="t")
        raise Boom
    assert not AuditRecord.objects.exists()


def test_a_deferral_needs_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"), audit_deferred():
        pass
