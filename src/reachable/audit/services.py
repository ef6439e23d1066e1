"""Writing to the audit log.

``audit_append`` is called inside the caller's transaction, so the audit record commits or
rolls back with the change it describes. Appends are serialised (an advisory lock on
PostgreSQL; SQLite's single writer elsewhere) so that the chain has exactly one successor per
record even under concurrent requests.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from django.db import connection, transaction

from reachable.audit.chain import GENESIS_HASH, record_hash
from reachable.audit.models import AuditRecord
from reachable.core import clock
from reachable.core.held import prepared_rows_write

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


_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    """JSON already: what the database gives back is equal to it as it stands."""
    if isinstance(value, _PLAIN):
        return not isinstance(value, float) or math.isfinite(value)
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _json_safe(detail: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so the hashed form equals what the database gives back later
    # (tuples become lists, dates strings); plain details, most of them, need no round trip.
    if _plain(detail):
        return detail
    result: dict[str, Any] = json.loads(json.dumps(detail, default=str))
    return result


def _fields(*, actor: Actor | None, action: str, object_type: str, object_id: str | int,
            person_id: int | None, detail: dict[str, Any] | None, prev_hash: str
            ) -> dict[str, Any]:
    return {
        "prev_hash": prev_hash,
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


class AuditBuffer:
    """Records kept in order, then chained and written together, in one INSERT, on ``flush``.

    For bulk paths (batch intake, the sweep) inside one transaction. Each record is still one
    record per change, with the hash it would have had unbuffered; but the chain's lock is
    taken, and the tail read, only when the records are written, at the end of the block.

    Why last: every other writer that audits locks its rows first and the chain after (an
    acknowledgement meets its clocks, then audits; the sweep locks the clocks due, then
    audits). A batch that took the chain's lock at its first record and met a clock at its
    end held the lock the sweep was waiting for while it waited for the sweep's clock: a
    deadlock, which PostgreSQL breaks by aborting one of them. Taken last, the lock is held by
    a transaction only while it writes its records and commits, so nobody holding it waits
    for a row, and audited reads (every page about a child) no longer queue behind a whole
    batch. A record's ``at`` is still the moment of the change; the chain's order is the order
    the records were written in.
    """

    def __init__(self, *, level: int | None = None) -> None:
        # For ``audit_deferred``: the savepoint depth whose direct appends (``audit_append``)
        # this buffer takes; appends made deeper are written at once, so that a savepoint
        # rolled back takes its records with it. None for the bulk paths, which append to
        # the buffer themselves and roll it back by ``mark``.
        self.level = level
        # The hash of the last record this buffer wrote, while this transaction holds the
        # chain's lock; None until the first flush, or after someone else has appended.
        self._tail: str | None = None
        # Records as their column values (cheaper than model instances by the hundred
        # thousand); pending ones are chained (``prev_hash``, ``hash``) when flushed.
        self._pending: list[dict[str, Any]] = []
        self._written: list[dict[str, Any]] = []  # flushed by this buffer, for rollback_to

    def append(self, *, actor: Actor | None, action: str, object_type: str,
               object_id: str | int = "", person_id: int | None = None,
               detail: dict[str, Any] | None = None) -> None:
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("audit appends must run inside the transaction they record")
        self._pending.append(_fields(actor=actor, action=action, object_type=object_type,
                                     object_id=object_id, person_id=person_id, detail=detail,
                                     prev_hash=""))

    def flush(self) -> None:
        """Chain the pending records onto the log's tail and write them."""
        if not self._pending:
            return
        if self._tail is None:
            _lock_chain_tail()
            self._tail = _chain_tail()
        tail = self._tail
        for fields in self._pending:
            fields.pop("hash", None)  # written once in a savepoint since rolled back
            fields["prev_hash"] = tail
            fields["hash"] = tail = record_hash(**fields)
        _insert_records(self._pending)
        self._tail = tail
        self._written.extend(self._pending)
        self._pending = []

    def mark(self) -> tuple[int, int]:
        """A point to roll back to if the savepoint about to open is rolled back."""
        return len(self._written), len(self._written) + len(self._pending)

    def rollback_to(self, mark: tuple[int, int]) -> None:
        """The savepoint opened at ``mark`` rolled back: keep exactly the records before it.

        Records flushed inside that savepoint are gone from the table with it; those appended
        before the mark go back to pending, to be chained and written again. The tail is the
        last record still written (its lock was taken before the savepoint, so it is still
        held); with none, the next flush takes the lock and reads the tail afresh.
        """
        written, total = mark
        lost = self._written[written:]
        del self._written[written:]
        self._pending = (lost + self._pending)[: total - written]
        self._tail = self._written[-1]["hash"] if self._written else None

    def discard(self) -> None:
        """Forget unwritten records (their transaction rolled back)."""
        self._pending = []
        self._written = []
        self._tail = None

    def invalidate(self) -> None:
        """Someone else appends next: write ours first, and re-read the tail afterwards.

        A deferral's records are written first only if the other append is at the deferral's
        own level. From inside a savepoint they would be written in it, and lost with it if it
        rolled back; so they wait for the deferral's end and follow the other's in the chain.
        """
        if self.level is None or self.takes_appends_here():
            self.flush()
        self._tail = None

    def takes_appends_here(self) -> bool:
        """A deferral at the current savepoint depth: ``audit_append`` adds to it."""
        return self.level is not None and self.level == _savepoint_depth()


def _insert_records(records: list[dict[str, Any]]) -> None:
    """The lot in as few statements as the database allows.

    ``bulk_create`` prepares every field of every row through the ORM, which costs more than
    the write itself when the sweep records 100,000 clock transitions. Only ``at`` and
    ``detail`` need adapting, by the same backend operations the ORM uses, so the stored
    values (and so the hashes ``verify_chain`` recomputes) are the same. PostgreSQL takes the
    rows by ``COPY`` (one stream; a multi-row INSERT of thousands of placeholders spends more
    time being parsed by the driver than written); SQLite, in process, by ``executemany``.
    """
    concrete = [f for f in AuditRecord._meta.concrete_fields if not f.primary_key]
    fields = [f.attname for f in concrete]
    at, detail = connection.ops.adapt_datetimefield_value, connection.ops.adapt_json_value
    rows = [tuple(at(r[f]) if f == "at" else detail(r[f], None) if f == "detail" else r[f]
                  for f in fields) for r in records]
    prepared_rows_write(AuditRecord._meta.db_table, [f.column for f in concrete], rows)


_active_buffer: ContextVar[AuditBuffer | None] = ContextVar("audit_buffer", default=None)


def _savepoint_depth() -> int:
    """How many atomic blocks deep the current one is, below the transaction's own."""
    return len(transaction.get_connection().savepoint_ids)


@contextmanager
def _buffer_active(buffer: AuditBuffer, *, quiet_rollback: bool = False
                   ) -> Iterator[AuditBuffer]:
    """``buffer`` takes the block's appends; written at its end, dropped if the block raises
    (or, if ``quiet_rollback``, if its transaction has been marked to roll back without one,
    as Django REST framework marks a request whose view answered with an error: nothing can
    be written then, and nothing of the transaction will be kept)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit buffers must run inside the transaction they record")
    outer = _active_buffer.get()
    if outer is not None:
        outer.invalidate()  # the outer buffer's records come first in the chain
    token = _active_buffer.set(buffer)
    try:
        yield buffer
        if quiet_rollback and transaction.get_rollback():
            buffer.discard()
        else:
            buffer.flush()
    except BaseException:
        buffer.discard()
        raise
    finally:
        _active_buffer.reset(token)


def audit_buffered() -> AbstractContextManager[AuditBuffer]:
    """A buffer for the block; flushed at the end, dropped if the block raises.

    ``audit_append`` called meanwhile (by any service) writes the buffer first, so the log's
    id order stays the chain order.
    """
    return _buffer_active(AuditBuffer())


@contextmanager
def audit_deferred() -> Iterator[None]:
    """Records appended directly in this block's transaction, at its own level, are written
    when it ends; each web request's view runs in one (``audit.views``).

    Why: appends hold the chain's lock to the end of their transaction. A page that appended
    where it read a child, and then read the rest of the record and rendered it, held the lock
    for the whole page, and every other page view and every batch of events queued behind it.
    Deferred to the view's end, the record is written with the transaction's other records and
    the lock is held only for the write and the commit.

    Only appends at the block's own level wait: a service that opens its own atomic block (a
    savepoint here) has its records written at once, so a savepoint that rolls back takes its
    records with it, as before. The waiting records are never written inside such a
    savepoint: they follow its records in the chain, so along the chain ``at`` can step back
    by up to one view's length, as it can by one batch's (decision 0003).
    """
    with _buffer_active(AuditBuffer(level=_savepoint_depth()), quiet_rollback=True):
        yield


def _chain_tail() -> str:
    previous = AuditRecord.objects.order_by("-id").values_list("hash", flat=True).first()
    return previous or GENESIS_HASH


def audit_append(
    *,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str | int = "",
    person_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one record to the chain inside the current transaction (at the end of an
    ``audit_deferred`` block, if one is open at this level)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_append must run inside the transaction of the change it records")
    buffer = _active_buffer.get()
    if buffer is not None:
        if buffer.takes_appends_here():
            buffer.append(actor=actor, action=action, object_type=object_type,
                          object_id=object_id, person_id=person_id, detail=detail)
            return
        buffer.invalidate()  # its records first, then this one after them
    _lock_chain_tail()
    fields = _fields(actor=actor, action=action, object_type=object_type, object_id=object_id,
                     person_id=person_id, detail=detail, prev_hash=_chain_tail())
    AuditRecord.objects.create(hash=record_hash(**fields), **fields)
