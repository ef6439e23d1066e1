"""One lock for everyone who reads the person index in order to change it.

Identity resolution reads the index to decide whether a child is new; a merge moves all a
person holds onto another. Two of those at once, each reading what the other has not yet
committed, go wrong in ways no constraint catches: two agencies' first events about one new
child (name and date of birth, no identifier) each find no one and make two children; an
event lands on a person whose rows a merge has just moved away. So each of them holds this
lock from before its first read of the index until its transaction ends: online resolution
(``identity.resolver``), each chunk of ``reachable link`` (``identity.batch``), merges,
unmerges and accepted reviews (``mpi.services``).

It is taken first, before the transaction locks anything else (a row, or the audit chain's
tail at its first audit record), so that every holder takes its locks in the same order and
none can wait for another in a circle. On SQLite it is a no-op: transactions start IMMEDIATE,
one writer at a time.
"""

from __future__ import annotations

from django.db import connection, transaction

# Arbitrary constant key for the PostgreSQL advisory lock (the audit chain's is next to it).
_PERSON_INDEX_LOCK_KEY = 7_201_114_100


def person_index_hold() -> None:
    """Take the lock now; it is released when the transaction (or the savepoint it was taken
    in) ends. Taking it again in the same transaction costs a query and changes nothing."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the person index is locked by a transaction; none is open")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PERSON_INDEX_LOCK_KEY])
