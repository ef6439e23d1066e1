"""Match profiles and their blocking keys: written as people are described, read to find
candidates.

``profile_add`` runs inside the resolving transaction whenever a person gains a description
(a new person, a new name variant, a new address): blocking keys are maintained by the
identity code that calls ``people.records``, not by the people app. ``candidates_for`` is the
online read: one indexed query from keys to profiles, never a scan of the index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection

from reachable.core.sql import plain_column, plain_columns, rows_probed, rows_where_in
from reachable.identity.blocking import keys_for
from reachable.identity.features import FEATURE_COLUMNS, Record
from reachable.identity.models import BlockingKey, MatchProfile
from reachable.people.models import Person

MAX_CANDIDATE_PROFILES = 500  # a pathological key (a placeholder that slipped through) stops here
MAX_CANDIDATE_KEYS = 5000  # profile ids read before the merged ones are dropped


def signature(f: Record) -> str:
    text = "\x1f".join("" if f.get(c) is None else str(f[c]) for c in FEATURE_COLUMNS)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def has_content(f: Record) -> bool:
    return any(f.get(c) for c in ("forename", "surname", "dob", "postcode"))


def profile_add(*, person: Person, f: Record, at: datetime, new_person: bool = False) -> bool:
    """Record this description of the person (once) with its blocking keys.

    ``new_person``: the person was created in this transaction and has no profile yet.
    """
    if not has_content(f):
        return False
    sig = signature(f)
    if not new_person and MatchProfile.objects.filter(person=person, signature=sig).exists():
        return False
    profile = MatchProfile.objects.create(
        person=person, signature=sig, created_at=at, **{c: f.get(c) for c in FEATURE_COLUMNS})
    BlockingKey.objects.bulk_create(BlockingKey(profile=profile, key=k) for k in keys_for(f))
    return True


def profiles_add_bulk(items: Iterable[tuple[int, Record]], *, at: datetime
                      ) -> list[tuple[int, int, Record]]:
    """Batch form of ``profile_add``: (person id, features) pairs; returns what was new as
    (profile id, person id, features)."""
    wanted: dict[tuple[int, str], Record] = {}
    for person_id, f in items:
        if has_content(f):
            wanted.setdefault((person_id, signature(f)), f)
    if not wanted:
        return []
    person_ids = {p for p, _ in wanted}
    existing = set(MatchProfile.objects.filter(person_id__in=person_ids)
                   .values_list("person_id", "signature"))
    fresh = [(key, f) for key, f in wanted.items() if key not in existing]
    rows = [MatchProfile(person_id=p, signature=sig, created_at=at,
                         **{c: f.get(c) for c in FEATURE_COLUMNS}) for (p, sig), f in fresh]
    MatchProfile.objects.bulk_create(rows, batch_size=2000)
    BlockingKey.objects.bulk_create(
        (BlockingKey(profile_id=row.pk, key=k) for row, (_, f) in zip(rows, fresh, strict=True)
         for k in keys_for(f)), batch_size=5000)
    return [(row.pk, row.person_id, f) for row, (_, f) in zip(rows, fresh, strict=True)]


PROFILE_FIELDS = ("id", "person_id", *FEATURE_COLUMNS)


def candidates_for(f: Record) -> list[dict[str, Any]]:
    """Profiles sharing a blocking key with ``f``, of people not merged into someone else.

    Two indexed reads whatever the tables' statistics: each key probed in the key index
    (``core.sql.rows_probed``), then those profiles by primary key. Given the keys as one
    ``IN`` list, PostgreSQL's plan depended on the statistics: on a million-person index
    loaded and not yet analysed, a record with ten or more keys was answered by reading
    every key in parallel (430 ms against 1). As ``BatchIndex.candidates``, the profile ids
    are taken in order, at most ``MAX_CANDIDATE_KEYS``.
    """
    keys = keys_for(f)
    if not keys:
        return []
    ids = sorted({profile_id for _, profile_id in rows_probed(
        BlockingKey, ("key", "profile"), "key", keys, limit=MAX_CANDIDATE_KEYS)})
    if not ids:
        return []
    return live_profiles(ids[:MAX_CANDIDATE_KEYS])[:MAX_CANDIDATE_PROFILES]


def live_profiles(ids: list[int]) -> list[dict[str, Any]]:
    """The profiles with these ids, leaving out those of people merged into another.

    Read by id and filtered here rather than by ``person__merged_into__isnull`` in SQL: given
    a long list of ids, SQLite's planner answered that condition by walking every unmerged
    person (nearly everyone) through the ``merged_into`` index, so each batch's read grew with
    the index. Selecting the column keeps the join on the person's primary key."""
    return [dict(zip(PROFILE_FIELDS, row[:-1], strict=True))
            for row in rows_where_in(_live_profiles_sql(), plain_column(MatchProfile, "id"), ids)
            if row[-1] is None]


@cache
def _live_profiles_sql() -> str:
    """The profile columns and the person's ``merged_into`` (``core.sql``), as the ORM would
    read ``values(*PROFILE_FIELDS, "person__merged_into_id")``: every column is plain."""
    quote = connection.ops.quote_name
    return (f"SELECT {plain_columns(MatchProfile, *PROFILE_FIELDS)}, "  # noqa: S608  (metadata)
            f"{plain_column(Person, 'merged_into')} "
            f"FROM {quote(MatchProfile._meta.db_table)} JOIN {quote(Person._meta.db_table)} "
            f"ON {plain_column(Person, 'id')} = {plain_column(MatchProfile, 'person')}")
