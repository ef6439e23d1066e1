"""What one batch of resolutions knows of the index, read once and kept current by its writes.

A batch of events resolves its subjects one after another, each seeing the people the earlier
ones created or described, exactly as single submissions would. Asking the database for every
subject's identifiers, candidate profiles, profile signatures and people costs a handful of
queries each; here the batch reads them for all its subjects at once (``prefetch``), answers
later questions from memory, and reads only what it has not seen. Its own new profiles (with
their blocking keys) and link decisions are held in memory, visible to the rest of the batch,
and inserted together by ``flush`` in the same transaction.

Nothing else reads profiles, keys or link decisions while a batch runs, and no one is merged
in the middle of one, so the answers are the ones the database would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from reachable.core.held import (
    ids_reserve,
    instance_build,
    prepared_rows_write,
    rows_insert,
    values_insert,
)
from reachable.core.sql import (
    instances_where_in,
    plain_column,
    plain_select,
    rows_probed,
    rows_where_in,
)
from reachable.identity.blocking import keys_for
from reachable.identity.features import FEATURE_COLUMNS, Record, features
from reachable.identity.models import BlockingKey, LinkDecision, MatchProfile
from reachable.identity.profiles import (
    MAX_CANDIDATE_KEYS,
    MAX_CANDIDATE_PROFILES,
    has_content,
    live_profiles,
    signature,
)
from reachable.identity.scorer import Scorer
from reachable.people.models import Person
from reachable.people.records import records_prefetch

CHUNK = 1000
_KEY_COLUMNS = [BlockingKey.profile.field.column, BlockingKey.key.field.column]


_V = TypeVar("_V")


@dataclass
class BatchIndex:
    key_profiles: dict[str, list[int]] = field(default_factory=dict)
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    signatures: dict[int, set[str]] = field(default_factory=dict)
    persons: dict[int, Person] = field(default_factory=dict)
    new_profiles: list[tuple[MatchProfile, list[str]]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # LinkDecision's columns
    # Profiles written in the batch have no id until ``flush``: they are known by -1, -2, ...
    next_unsaved: int = -1
    # Features of the subjects read ahead, and blocking keys of records, by the identity of
    # the subject dict or record (kept alive here so the id is not reused): a subject is
    # described when reading ahead and again when resolved, and its keys are asked for when
    # reading ahead, when finding candidates and when storing its profile.
    memo: dict[tuple[str, int], tuple[object, Any]] = field(default_factory=dict)
    # The person index's lock is held (``people.index_lock``): the batch is one transaction.
    locked: bool = False

    # -- reading ---------------------------------------------------------------------------

    def _once(self, kind: str, of: object, make: Callable[[], _V]) -> _V:
        """``make()``, once per ``kind`` and object in the batch; callers do not change it."""
        key = (kind, id(of))
        known = self.memo.get(key)
        if known is not None and known[0] is of:
            return cast(_V, known[1])
        value = make()
        self.memo[key] = (of, value)
        return value

    def keys_of(self, f: Record) -> list[str]:
        """``blocking.keys_for(f)``, once per record object in the batch."""
        return self._once("keys", f, lambda: keys_for(f))

    def features_of(self, subject: dict[str, Any], scorer: Scorer) -> Record:
        """``scorer.with_tf(features(subject))``, once per subject object in the batch.

        The record is shared: callers read it and copy what they keep (``profile_add``)."""
        return self._once("features", subject, lambda: scorer.with_tf(features(subject)))

    def prefetch(self, records: Iterable[Record], person_ids: Iterable[int] = ()) -> set[int]:
        """Candidates for every record's blocking keys, and what is needed about the people
        the records are likely to resolve to (and ``person_ids``, e.g. identifier holders):
        a few queries for the whole batch. Returns those people's ids.

        Every candidate profile is read (scoring needs them), but the people behind them only
        when a candidate shares a date of birth and a surname or forename with some record:
        a blocking key is shared by more people as the index grows, and reading all of them
        made each batch slower and larger the bigger the index. Anyone else a record resolves
        to is read when it does (every cache here reads on a miss)."""
        records = list(records)
        keys = {key for f in records for key in self.keys_of(f)}
        self._load_keys(keys)
        likely = {(f["dob"], f.get(name)) for f in records if f.get("dob")
                  for name in ("surname", "forename_canon") if f.get(name)}
        people = {row["person_id"] for row in self.profiles.values()
                  if (row.get("dob"), row.get("surname")) in likely
                  or (row.get("dob"), row.get("forename_canon")) in likely}
        people |= set(person_ids)
        self.persons_prefetch(people)
        return people

    def persons_prefetch(self, person_ids: Iterable[int]) -> None:
        wanted = [pk for pk in set(person_ids) if pk not in self.signatures]
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            missing = [pk for pk in chunk if pk not in self.persons]
            for person in instances_where_in(Person, "id", missing):
                self.persons[person.pk] = person
            for pk in chunk:
                self.signatures[pk] = set()
            for pk, sig in rows_where_in(plain_select(MatchProfile, "person", "signature"),
                                         plain_column(MatchProfile, "person"), chunk):
                self.signatures[pk].add(sig)
        records_prefetch(wanted)

    def _load_keys(self, keys: Iterable[str]) -> None:
        missing = sorted(k for k in set(keys) if k not in self.key_profiles)
        if not missing:
            return
        for key in missing:
            self.key_profiles[key] = []
        ids: set[int] = set()
        for key, profile_id in rows_probed(BlockingKey, ("key", "profile"), "key", missing):
            self.key_profiles[key].append(profile_id)
            ids.add(profile_id)
        for row in live_profiles(sorted(ids - self.profiles.keys())):
            self.profiles[row["id"]] = row

    def candidates(self, f: Record) -> list[dict[str, Any]]:
        """As ``profiles.candidates_for``: profiles sharing a blocking key with ``f``."""
        keys = self.keys_of(f)
        self._load_keys(keys)
        ids = sorted({pid for key in keys for pid in self.key_profiles[key]},
                     key=lambda pid: (pid < 0, abs(pid)))[:MAX_CANDIDATE_KEYS]
        rows = [self.profiles[pid] for pid in ids if pid in self.profiles]
        return rows[:MAX_CANDIDATE_PROFILES]

    def person(self, pk: int) -> Person:
        if pk not in self.persons:
            self.persons[pk] = Person.objects.get(pk=pk)
        return self.persons[pk]

    def same_person(self, person: Person) -> Person:
        """The batch's one instance of ``person`` (so a change made by one event is seen by
        the next), remembering it if it is the first."""
        return self.persons.setdefault(person.pk, person)

    # -- writing ---------------------------------------------------------------------------

    def person_created(self, person: Person) -> None:
        self.persons[person.pk] = person
        self.signatures[person.pk] = set()

    def profile_add(self, *, person: Person, f: Record, at: datetime) -> bool:
        """As ``profiles.profile_add``, held until ``flush`` and visible to the batch now."""
        if not has_content(f):
            return False
        sig = signature(f)
        if person.pk not in self.signatures:
            self.persons_prefetch([person.pk])
        if sig in self.signatures[person.pk]:
            return False
        self.signatures[person.pk].add(sig)
        values = {c: f.get(c) for c in FEATURE_COLUMNS}
        keys = self.keys_of(f)
        self._load_keys(keys)  # so the stored rows of these keys are not hidden by ours
        unsaved = self.next_unsaved
        self.next_unsaved -= 1
        self.profiles[unsaved] = {"id": unsaved, "person_id": person.pk, **values}
        for key in keys:
            self.key_profiles[key].append(unsaved)
        profile = instance_build(MatchProfile, person=person, signature=sig, created_at=at,
                                 **values)
        self.new_profiles.append((profile, keys))
        return True

    def flush(self) -> None:
        profiles = [profile for profile, _ in self.new_profiles]
        # Ids first, so the keys can name their profile without reading the ids back.
        if profiles:
            for profile, pk in zip(profiles, ids_reserve(MatchProfile, len(profiles)),
                                   strict=True):
                profile.pk = pk
        rows_insert(MatchProfile, profiles)
        # Keys are many (a dozen per profile) and only two plain values each: written as
        # tuples, without a model instance apiece (what ``bulk_create`` would store).
        key_rows = [(profile.pk, key) for profile, keys in self.new_profiles for key in keys]
        if key_rows:
            prepared_rows_write(BlockingKey._meta.db_table, _KEY_COLUMNS, key_rows)
        values_insert(LinkDecision, self.decisions)
        self.new_profiles, self.decisions = [], []
