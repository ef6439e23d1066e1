"""``link_file``: link an agency extract (CSV or Parquet, up to millions of rows) to the index.

The file streams in chunks. For each chunk, in one database transaction:

1. every row is validated; a bad row is reported with its number and reason and skipped;
2. strong identifiers link deterministically (one query per identifier kind);
3. candidate pairs come from the same blocking keys as the online path, joined in DuckDB
   against a snapshot of the index (plus the chunk's earlier rows, so two rows about one new
   child become one person), and Splink scores them with the saved model (``engines``);
4. rows are decided in file order by ``decisions.decide``, exactly as online resolution would
   have decided them one by one;
5. people, names, identifiers, addresses, match profiles, link decisions and review items are
   written in bulk, with one audit record for the chunk.

A chunk commits whole or not at all, so a row is never half-written; the snapshot learns the
chunk's new profiles only after its commit. Row numbers count data rows from 1 (a CSV's
header line is not a row).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.db import transaction
from django.db.models import Max, Q, QuerySet

from reachable.audit.services import audit_append
from reachable.core import clock
from reachable.identity.blocking import keys_for
from reachable.identity.decisions import Candidate, Kind, decide
from reachable.identity.duckdb_connection import duckdb_connect
from reachable.identity.engines import engine_for
from reachable.identity.features import FEATURE_COLUMNS, TF_COLUMNS, Record, features
from reachable.identity.models import BlockingKey, LinkDecision, MatchProfile
from reachable.identity.modelstore import active_scorer, thresholds
from reachable.identity.profiles import profiles_add_bulk
from reachable.identity.resolver import STRONG_IDENTIFIERS, review_open
from reachable.identity.scorer import Scorer, probability
from reachable.people.index_lock import person_index_hold
from reachable.people.models import Address, Identifier, IdentifierKind, Person, PersonName
from reachable.people.validators import (
    name_key,
    normalise_nhs_number,
    normalise_pnc_id,
    normalise_postcode,
    normalise_upn,
)

# Rows linked per transaction, by engine. Online intake and merges wait for the chunk in hand
# (the person-index lock, decision 0009), and a row costs 1-2 ms, nearly all of it deciding and
# writing under that lock; so chunks are small enough to keep the wait to seconds. 50,000
# synthetic records on PostgreSQL took 88.6 s in chunks of 5,000 (longest wait 8.5 s) and
# 90.9 s in chunks of 20,000 (longest wait 24.6 s). Spark starts a job per chunk, so it
# takes larger ones.
CHUNK_SIZES = {"duckdb": 5_000, "spark": 20_000}
MAX_REPORTED_BAD_ROWS = 10_000
COLUMNS = ("record_id", "given_name", "family_name", "date_of_birth", "sex", "nhs_number",
           "upn", "pnc_id", "local_child_id", "postcode", "address_line")
_NORMALISERS = {"nhs_number": normalise_nhs_number, "upn": normalise_upn,
                "pnc_id": normalise_pnc_id}


MALFORMED = "__malformed__"


class BadRow(ValueError):
    pass


@dataclass
class Row:
    number: int
    subject: dict[str, Any]
    f: Record
    uid: str
    person_id: int = 0  # > 0 a stored person; < 0 a person this chunk creates
    decision: str = Kind.NEW
    matched_on: str = "new"
    weight: float | None = None
    candidate: Candidate | None = None
    guard: str = ""
    record_key: str = ""


@dataclass
class Summary:
    file: str
    agency: str
    engine: str
    model_version: str
    rows: int = 0
    linked: int = 0
    deterministic: int = 0
    auto_link: int = 0
    review: int = 0
    new_people: int = 0
    bad_rows: int = 0
    already_linked: int = 0  # rows linked by an earlier run (or earlier in this file): skipped
    chunks: int = 0
    seconds: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)  # filled only when asked

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "sources"}
        data["seconds"] = round(self.seconds, 3)
        return data


# -- reading ----------------------------------------------------------------------------------

def read_chunks(path: Path, size: int) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """(row number, raw row) chunks from a CSV or Parquet file."""
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=size):
            rows = []
            for raw in batch.to_pylist():
                number += 1
                rows.append((number, raw))
            yield rows
        return
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        chunk: list[tuple[int, dict[str, Any]]] = []
        for number, raw in enumerate(reader, start=1):
            if None in raw:  # DictReader puts surplus fields under None
                raw = {MALFORMED: "more fields than the header has"}
            elif any(value is None for value in raw.values()):
                raw = {MALFORMED: "fewer fields than the header has"}
            chunk.append((number, raw))
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value).strip()


def _date(text: str, today: date) -> date | None:
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)  # dd/mm/yyyy, as agencies send
    try:
        day = (date(int(match[3]), int(match[2]), int(match[1])) if match
               else date.fromisoformat(text[:10]))
    except ValueError:
        raise BadRow(f"date_of_birth: {text!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)"
                     ) from None
    if day > today:
        raise BadRow("date_of_birth: in the future")
    return day


def parse_row(raw: dict[str, Any], *, today: date) -> dict[str, Any]:
    """The subject described by one row, in intake's shape, or ``BadRow`` saying why not."""
    if MALFORMED in raw:
        raise BadRow(raw[MALFORMED])
    subject: dict[str, Any] = {}
    for key in ("given_name", "family_name"):
        text = _text(raw, key)
        if len(text) > 100:
            raise BadRow(f"{key}: longer than 100 characters")
        if text:
            subject[key] = text
    subject["date_of_birth"] = _date(_text(raw, "date_of_birth"), today)
    sex = _text(raw, "sex").upper()
    if sex not in ("", "M", "F", "U"):
        raise BadRow(f"sex: {sex!r} is not M, F or U")
    if sex:
        subject["sex"] = sex
    for key, normalise in _NORMALISERS.items():
        text = _text(raw, key)
        if text:
            try:
                subject[key] = normalise(text)
            except ValueError as exc:
                raise BadRow(f"{key}: {exc}") from None
    local = _text(raw, "local_child_id")
    if local:
        subject["local_child_id"] = local[:40]
    postcode = _text(raw, "postcode")
    line = _text(raw, "address_line") or _text(raw, "address")
    if postcode:
        try:
            subject["address"] = {"postcode": normalise_postcode(postcode), "line": line[:300]}
        except ValueError as exc:
            raise BadRow(f"postcode: {exc}") from None
    elif line:
        # Extracts often give the street but not the postcode. An address is only stored
        # with a postcode, but the line still tells this child from another with the same
        # name and birthday, so linkage compares it (``features`` reads ``address_line``).
        subject["address_line"] = line[:300]
    named = subject.get("given_name") or subject.get("family_name")
    identified = any(subject.get(key) for _, key in STRONG_IDENTIFIERS)
    if not named and not identified:
        raise BadRow("needs a name or an identifier")
    return subject


# -- the index snapshot ---------------------------------------------------------------------

def _schema() -> pa.Schema:
    return pa.schema([("uid", pa.string()), ("person_id", pa.int64())]
                     + [(c, pa.string()) for c in FEATURE_COLUMNS]
                     + [(f"tf_{c}", pa.float64()) for c in TF_COLUMNS])


def _arrow(rows: list[tuple[str, int, Record]], scorer: Scorer) -> pa.Table:
    columns: dict[str, list[Any]] = {"uid": [u for u, _, _ in rows],
                                     "person_id": [p for _, p, _ in rows]}
    for c in FEATURE_COLUMNS:
        columns[c] = [f.get(c) for _, _, f in rows]
    for c in TF_COLUMNS:
        values = []
        for _, _, f in rows:
            if f.get(f"tf_{c}") is None and f.get(c) is not None:
                scorer.with_tf(f)
            values.append(f.get(f"tf_{c}"))
        columns[f"tf_{c}"] = values
    return pa.table(columns, schema=_schema())


def _profile_rows(query: QuerySet[MatchProfile]) -> Iterator[tuple[str, int, Record]]:
    """The snapshot's rows (uid, person id, features) of the profiles ``query`` selects,
    streamed."""
    fields = ("id", "person_id", *FEATURE_COLUMNS)
    for values in query.values_list(*fields).iterator(chunk_size=20_000):
        yield f"p{values[0]}", values[1], dict(zip(FEATURE_COLUMNS, values[2:], strict=True))


class IndexSnapshot:
    """The index's profiles and blocking keys in DuckDB, for joining a chunk's keys."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.con = duckdb_connect()
        empty = _schema().empty_table()
        self.con.register("empty_idx", empty)
        self.con.execute("CREATE TABLE idx AS SELECT * FROM empty_idx")
        self.con.execute("CREATE TABLE idx_keys (key VARCHAR, uid VARCHAR)")
        self.size = 0
        self.last_profile = 0  # the highest profile id the snapshot has looked at
        self.last_merge = 0  # likewise for merges
        self.unmerged: set[int] = set()  # merges it knows were undone

    def load(self) -> None:
        """Every live profile and key from the database, streamed.

        Only profiles up to the highest id at the start are read (and their keys), so
        ``catch_up`` knows exactly where to go on from; the merges on record now are noted
        for the same reason.
        """
        from reachable.mpi.models import PersonMerge  # the MPI sits below identity

        self.last_profile = MatchProfile.objects.aggregate(last=Max("id"))["last"] or 0
        self.last_merge = PersonMerge.objects.aggregate(last=Max("id"))["last"] or 0
        self.unmerged = set(PersonMerge.objects.filter(unmerged_at__isnull=False)
                            .values_list("pk", flat=True))
        batch: list[tuple[str, int, Record]] = []
        for row in _profile_rows(MatchProfile.objects.filter(
                person__merged_into__isnull=True, id__lte=self.last_profile).order_by()):
            batch.append(row)
            if len(batch) >= 50_000:
                self._insert(batch, keys=False)
                batch = []
        self._insert(batch, keys=False)
        keys: list[tuple[str, str]] = []
        for key, profile_id in BlockingKey.objects.filter(
                profile_id__lte=self.last_profile).values_list("key", "profile_id").order_by(
                ).iterator(chunk_size=50_000):
            keys.append((key, f"p{profile_id}"))
            if len(keys) >= 200_000:
                self._insert_keys(keys)
                keys = []
        self._insert_keys(keys)
        self.con.execute("CREATE INDEX idx_keys_key ON idx_keys(key)")

    def _insert(self, rows: list[tuple[str, int, Record]], *, keys: bool = True) -> None:
        if not rows:
            return
        table = _arrow(rows, self.scorer)
        self.con.register("incoming", table)
        self.con.execute("INSERT INTO idx SELECT * FROM incoming")
        self.con.unregister("incoming")
        self.size += len(rows)
        if keys:
            self._insert_keys([(k, uid) for uid, _, f in rows for k in keys_for(f)])

    def _insert_keys(self, pairs: list[tuple[str, str]]) -> None:
        if not pairs:
            return
        table = pa.table({"key": [k for k, _ in pairs], "uid": [u for _, u in pairs]})
        self.con.register("incoming_keys", table)
        self.con.execute("INSERT INTO idx_keys SELECT * FROM incoming_keys")
        self.con.unregister("incoming_keys")

    def add(self, profiles: list[tuple[int, int, Record]]) -> None:
        """Profiles a chunk of this run committed. They are the newest in the index: the chunk
        held the person index's lock from before it read the index until it committed."""
        self._insert([(f"p{pid}", person, f) for pid, person, f in profiles])
        self.last_profile = max([self.last_profile, *(pid for pid, _, _ in profiles)])

    def catch_up(self) -> None:
        """Learn what other transactions committed to the index since the snapshot last
        looked: new profiles (an event resolved online while this file was being linked) and
        the people merges and unmerges have moved profiles between.

        Called at the start of each chunk's transaction, under the person index's lock
        (``people.index_lock``), which every writer of the index holds from its first read to
        its commit: profile ids are therefore given out in commit order, and nothing can
        commit meanwhile. Without this a long file would create a second record of a child an
        agency's event created during the run, or link rows to a person merged away since it
        started.
        """
        from reachable.mpi.models import PersonMerge  # the MPI sits below identity

        last = MatchProfile.objects.aggregate(last=Max("id"))["last"] or 0
        if last > self.last_profile:
            self._load_profiles(MatchProfile.objects.filter(
                id__gt=self.last_profile, id__lte=last, person__merged_into__isnull=True))
            self.last_profile = last
        moved: set[int] = set()
        for pk, survivor, merged, unmerged_at in PersonMerge.objects.filter(
                Q(pk__gt=self.last_merge) | Q(unmerged_at__isnull=False)).exclude(
                pk__in=self.unmerged).values_list("pk", "survivor_id", "merged_id",
                                                  "unmerged_at"):
            moved.update((survivor, merged))
            self.last_merge = max(self.last_merge, pk)
            if unmerged_at is not None:
                self.unmerged.add(pk)
        if moved:
            self._forget_people(moved)
            self._load_profiles(MatchProfile.objects.filter(
                person_id__in=moved, person__merged_into__isnull=True,
                id__lte=self.last_profile))

    def _load_profiles(self, query: QuerySet[MatchProfile]) -> None:
        self._insert(list(_profile_rows(query.order_by("id"))))

    def _forget_people(self, person_ids: set[int]) -> None:
        self.con.register("forget", pa.table({"person_id": sorted(person_ids)}))
        try:
            gone = self.con.sql("SELECT uid FROM idx WHERE person_id IN "
                                "(SELECT person_id FROM forget)").to_arrow_table()
            self.con.register("gone", gone)
            self.con.execute("DELETE FROM idx_keys WHERE uid IN (SELECT uid FROM gone)")
            self.con.execute("DELETE FROM idx WHERE uid IN (SELECT uid FROM gone)")
            self.con.unregister("gone")
            self.size -= gone.num_rows
        finally:
            self.con.unregister("forget")

    def candidate_pairs(self, rows: list[Row]) -> tuple[pa.Table, pa.Table]:
        """(records, pairs) for Splink: the chunk's rows and the index profiles sharing a key
        with them; pairs are (index profile or earlier row, row)."""
        chunk = _arrow([(r.uid, r.person_id, r.f) for r in rows], self.scorer)
        order = {r.uid: i for i, r in enumerate(rows)}
        chunk_keys = pa.table({
            "key": [k for r in rows for k in keys_for(r.f)],
            "uid": [r.uid for r in rows for _ in keys_for(r.f)],
            "pos": [order[r.uid] for r in rows for _ in keys_for(r.f)],
        })
        self.con.register("chk", chunk)
        self.con.register("chk_keys", chunk_keys)
        try:
            pairs = self.con.sql("""
                SELECT DISTINCT k.uid AS join_key_l, c.uid AS join_key_r
                FROM chk_keys c JOIN idx_keys k ON k.key = c.key
                UNION
                SELECT DISTINCT a.uid, b.uid
                FROM chk_keys a JOIN chk_keys b ON a.key = b.key AND a.pos < b.pos
            """).to_arrow_table()
            self.con.register("pairs_now", pairs)
            records = self.con.sql("""
                SELECT * FROM idx WHERE uid IN (SELECT join_key_l FROM pairs_now)
                UNION ALL SELECT * FROM chk
            """).to_arrow_table()
            self.con.unregister("pairs_now")
        finally:
            self.con.unregister("chk")
            self.con.unregister("chk_keys")
        return records, pairs

    def profiles(self, uids: list[str]) -> dict[str, tuple[int, Record]]:
        if not uids:
            return {}
        self.con.register("wanted", pa.table({"uid": uids}))
        try:
            table = self.con.sql(
                "SELECT * FROM idx WHERE uid IN (SELECT uid FROM wanted)").to_arrow_table()
        finally:
            self.con.unregister("wanted")
        found = {}
        for row in table.to_pylist():
            found[row["uid"]] = (row["person_id"], row)
        return found

    def close(self) -> None:
        self.con.close()


# -- linking ----------------------------------------------------------------------------------

def _issuer(kind: str, agency: str) -> str:
    return agency if kind == IdentifierKind.LOCAL else ""


def _held(rows: list[Row], agency: str) -> dict[tuple[str, str, str], int]:
    """Identifiers already in the index: (kind, issuer, value) -> person id."""
    held: dict[tuple[str, str, str], int] = {}
    for kind, key in STRONG_IDENTIFIERS:
        values = {r.subject[key] for r in rows if r.subject.get(key)}
        issuer = _issuer(kind, agency)
        for start in range(0, len(values), 900):
            part = sorted(values)[start:start + 900]
            for value, person_id in Identifier.objects.filter(
                    kind=kind, issuer=issuer, value__in=part).values_list("value", "person_id"):
                held[(str(kind), issuer, value)] = person_id
    return held


class BatchLinker:
    def __init__(self, *, agency: str, engine: str = "duckdb", source: str,
                 progress: bool = True,
                 parse: Callable[..., dict[str, Any]] = parse_row) -> None:
        self.agency = agency
        self.parse = parse
        self.source = source
        self.scorer = active_scorer()
        self.thresholds = thresholds()
        self.engine_name = engine
        self.engine = engine_for(engine, self.scorer.model)
        self.snapshot = IndexSnapshot(self.scorer)
        self.snapshot.load()
        self.progress = progress
        self.summary = Summary(file=source, agency=agency, engine=engine,
                               model_version=self.scorer.version)

    def close(self) -> None:
        self.snapshot.close()
        closer = getattr(self.engine, "close", None)
        if closer is not None:
            closer()

    def link(self, path: Path, *, chunk_size: int | None = None, stream: Any = None
             ) -> Summary:
        """Link the file ``chunk_size`` rows a transaction (default: the engine's
        ``CHUNK_SIZES``)."""
        from tqdm import tqdm

        chunk_size = chunk_size or CHUNK_SIZES[self.engine_name]

        started = time.perf_counter()
        bar = tqdm(total=None, unit="rows", file=stream or sys.stderr, disable=not self.progress,
                   desc=f"linking {path.name}")
        try:
            for chunk in read_chunks(path, chunk_size):
                self.link_chunk(chunk)
                bar.update(len(chunk))
        finally:
            bar.close()
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def link_chunk(self, chunk: list[tuple[int, dict[str, Any]]]) -> None:
        at = clock.now()
        today = at.date()
        rows: list[Row] = []
        for number, raw in chunk:
            self.summary.rows += 1
            try:
                subject = self.parse(raw, today=today)
            except BadRow as exc:
                self.summary.bad_rows += 1
                if len(self.summary.errors) < MAX_REPORTED_BAD_ROWS:
                    self.summary.errors.append({"row": number, "reason": str(exc)})
                continue
            f = self.scorer.with_tf(features(subject))
            rows.append(Row(number=number, subject=subject, f=f, uid=f"r{number}",
                            record_key=self._record_key(raw, subject)))
        rows = self._not_yet_linked(rows)
        if not rows:
            return
        with transaction.atomic():
            # Online resolution and merges wait for this chunk (``people.index_lock``), and
            # the snapshot first learns what they committed since it last looked.
            person_index_hold()
            self.snapshot.catch_up()
            new_profiles = self._link_rows(rows, at)
        self.snapshot.add(new_profiles)
        self.summary.chunks += 1

    def _record_key(self, raw: dict[str, Any], subject: dict[str, Any]) -> str:
        """The row's identity across runs: its record id, else a hash of what it says."""
        record_id = _text(raw, "record_id")
        if record_id:
            return f"{self.agency}:id:{record_id}"[:200]
        # Without ``address_line`` (a street given without a postcode, which earlier versions
        # dropped), so an extract linked by one of them is still recognised as linked.
        hashed = {k: v for k, v in subject.items() if k != "address_line"}
        content = json.dumps(hashed, sort_keys=True, default=str).encode()
        return f"{self.agency}:row:{hashlib.sha256(content).hexdigest()[:40]}"

    def _not_yet_linked(self, rows: list[Row]) -> list[Row]:
        """Drop rows an earlier run (or an earlier row of this run) already linked, so that
        linking the same extract twice (a retry after a crash, a re-sent file) writes nothing
        new for them."""
        keys = list({r.record_key for r in rows})
        done: set[str] = set()
        for start in range(0, len(keys), 1000):
            done.update(LinkDecision.objects.filter(record_key__in=keys[start:start + 1000])
                        .values_list("record_key", flat=True))
        fresh = []
        for row in rows:
            if row.record_key in done:
                self.summary.already_linked += 1
                continue
            done.add(row.record_key)
            fresh.append(row)
        return fresh

    def _link_rows(self, rows: list[Row], at: datetime) -> list[tuple[int, int, Record]]:
        held = _held(rows, self.agency)
        records, pairs = self.snapshot.candidate_pairs(rows)
        scores = self.engine.score(records, pairs, self.thresholds.review)
        by_row: dict[str, list[tuple[str, float]]] = {}
        position = {r.uid: i for i, r in enumerate(rows)}
        for uid_l, uid_r, weight in zip(scores.column("uid_l").to_pylist(),
                                        scores.column("uid_r").to_pylist(),
                                        scores.column("match_weight").to_pylist(), strict=True):
            # Splink may put either record on the left: the later row is the incoming one.
            if uid_l in position and (uid_r not in position or position[uid_l] > position[uid_r]):
                uid_l, uid_r = uid_r, uid_l
            by_row.setdefault(uid_r, []).append((uid_l, weight))
        index_profiles = self.snapshot.profiles(
            sorted({u for cands in by_row.values() for u, _ in cands if u.startswith("p")}))
        row_by_uid = {r.uid: r for r in rows}
        claimed: dict[tuple[str, str, str], int] = {}
        next_temp = -1
        for row in rows:
            hit = self._deterministic(row, held, claimed)
            if hit:
                row.person_id, row.decision = hit, Kind.DETERMINISTIC
            else:
                scored = []
                for uid, weight in by_row.get(row.uid, []):
                    if uid in row_by_uid:
                        earlier = row_by_uid[uid]
                        scored.append(Candidate(earlier.person_id, weight, earlier.f))
                    elif uid in index_profiles:
                        person_id, profile = index_profiles[uid]
                        scored.append(Candidate(person_id, weight, profile))
                outcome = decide(scorer=self.scorer, incoming=row.f, scored=scored,
                                 thresholds=self.thresholds,
                                 known_distinct=_known_distinct_stored)
                row.decision, row.candidate, row.guard = (outcome.decision, outcome.best,
                                                          outcome.guard)
                row.weight = outcome.weight
                if outcome.decision == Kind.AUTO_LINK and outcome.best is not None:
                    row.person_id = outcome.best.person_id
                    row.matched_on = (
                        "name_and_dob" if all(row.f.get(c) is not None and row.f.get(c)
                                              == outcome.best.profile.get(c)
                                              for c in ("forename", "surname", "dob"))
                        else "probabilistic")
                else:
                    row.person_id, next_temp = next_temp, next_temp - 1
            for kind, key in STRONG_IDENTIFIERS:
                value = row.subject.get(key)
                ident = (str(kind), _issuer(kind, self.agency), str(value))
                if value and ident not in held and ident not in claimed:
                    claimed[ident] = row.person_id
        return self._write(rows, claimed, at)

    def _deterministic(self, row: Row, held: dict[tuple[str, str, str], int],
                       claimed: dict[tuple[str, str, str], int]) -> int:
        for kind, key in STRONG_IDENTIFIERS:
            value = row.subject.get(key)
            if not value:
                continue
            ident = (str(kind), _issuer(kind, self.agency), str(value))
            if ident in held:
                row.matched_on = key
                return held[ident]
            if ident in claimed:
                row.matched_on = key
                return claimed[ident]
        return 0

    # -- writing ----------------------------------------------------------------------------

    def _write(self, rows: list[Row], claimed: dict[tuple[str, str, str], int], at: datetime
               ) -> list[tuple[int, int, Record]]:
        firsts: dict[int, Row] = {}
        for row in rows:
            if row.person_id < 0:
                firsts.setdefault(row.person_id, row)
        created = []
        for temp, row in firsts.items():
            given = row.subject.get("given_name", "")
            family = row.subject.get("family_name", "")
            created.append((temp, Person(
                given_name=given, family_name=family, name_key=name_key(given, family),
                date_of_birth=row.subject.get("date_of_birth"),
                sex=row.subject.get("sex") or "U", created_at=at)))
        Person.objects.bulk_create([p for _, p in created], batch_size=2000)
        real = {temp: person.pk for temp, person in created}
        for row in rows:
            if row.person_id < 0:
                row.person_id = real[row.person_id]
        self._write_names(rows)
        Identifier.objects.bulk_create(
            [Identifier(person_id=real.get(p, p), kind=kind, value=value, issuer=issuer)
             for (kind, issuer, value), p in claimed.items()], batch_size=2000)
        self._fill_gaps(rows, set(real.values()))
        self._write_addresses(rows, at)
        new_profiles = profiles_add_bulk(((r.person_id, r.f) for r in rows), at=at)
        LinkDecision.objects.bulk_create([LinkDecision(
            person_id=r.person_id,
            candidate_id=(r.candidate.person_id if r.decision == Kind.REVIEW and r.candidate
                          and r.candidate.person_id > 0 else None),
            source=f"batch:{self.source}:{r.number}"[:200], record_key=r.record_key,
            agency_code=self.agency,
            decision=r.decision, matched_on=r.matched_on, match_weight=r.weight,
            match_probability=None if r.weight is None else probability(r.weight),
            model_version=self.scorer.version, created_at=at) for r in rows], batch_size=2000)
        self._open_reviews(rows, real)
        counts = {kind: sum(1 for r in rows if r.decision == kind)
                  for kind in (Kind.DETERMINISTIC, Kind.AUTO_LINK, Kind.REVIEW, Kind.NEW)}
        s = self.summary
        s.deterministic += counts[Kind.DETERMINISTIC]
        s.auto_link += counts[Kind.AUTO_LINK]
        s.review += counts[Kind.REVIEW]
        s.new_people += len(created)
        s.linked += counts[Kind.DETERMINISTIC] + counts[Kind.AUTO_LINK]
        audit_append(actor=None, action="identity.batch_linked", object_type="batch",
                     object_id=self.source[:100],
                     detail={"agency": self.agency, "rows": [rows[0].number, rows[-1].number],
                             "written": len(rows), "new_people": len(created),
                             "model_version": self.scorer.version, **counts})
        return new_profiles

    def _write_names(self, rows: list[Row]) -> None:
        seen: set[tuple[int, str]] = set()
        names = []
        for row in rows:
            given = row.subject.get("given_name", "")
            family = row.subject.get("family_name", "")
            if not (given or family):
                continue
            key = (row.person_id, name_key(given, family))
            if key in seen:
                continue
            seen.add(key)
            names.append(PersonName(person_id=row.person_id, name_key=key[1], given_name=given,
                                    family_name=family, source_agency=self.agency))
        PersonName.objects.bulk_create(names, batch_size=2000, ignore_conflicts=True)

    def _fill_gaps(self, rows: list[Row], created: set[int]) -> None:
        """Date of birth and sex fill gaps on people linked to; they never overwrite."""
        linked = {r.person_id for r in rows} - created
        if not linked:
            return
        people = {p.pk: p for p in Person.objects.filter(pk__in=linked).only(
            "id", "date_of_birth", "sex")}
        changed: dict[int, Person] = {}
        for row in rows:
            person = people.get(row.person_id)
            if person is None:
                continue
            if person.date_of_birth is None and row.subject.get("date_of_birth"):
                person.date_of_birth = row.subject["date_of_birth"]
                changed[person.pk] = person
            if person.sex == "U" and row.subject.get("sex") in ("M", "F"):
                person.sex = row.subject["sex"]
                changed[person.pk] = person
        if changed:
            Person.objects.bulk_update(list(changed.values()), ["date_of_birth", "sex"],
                                       batch_size=1000)

    def _write_addresses(self, rows: list[Row], at: datetime) -> None:
        latest: dict[int, tuple[str, str]] = {}
        ids = {r.person_id for r in rows if r.subject.get("address")}
        for person_id, postcode, line in (Address.objects.filter(person_id__in=ids)
                                          .order_by("person_id", "recorded_at", "id")
                                          .values_list("person_id", "postcode", "line")):
            latest[person_id] = (postcode, line)
        new = []
        for row in rows:
            address = row.subject.get("address")
            if not address:
                continue
            value = (address["postcode"], address.get("line", ""))
            if latest.get(row.person_id) == value:
                continue
            latest[row.person_id] = value
            new.append(Address(person_id=row.person_id, postcode=value[0], line=value[1],
                               recorded_at=at, source_agency=self.agency))
        Address.objects.bulk_create(new, batch_size=2000)

    def _open_reviews(self, rows: list[Row], real: dict[int, int]) -> None:
        from reachable.identity.decisions import Outcome

        for row in rows:
            if row.decision != Kind.REVIEW or row.candidate is None:
                continue
            candidate = row.candidate
            if candidate.person_id < 0:
                candidate.person_id = real[candidate.person_id]
            if candidate.person_id == row.person_id:
                continue
            outcome = Outcome(Kind.REVIEW, candidate, guard=row.guard)
            review_open(scorer=self.scorer, incoming=Person(pk=row.person_id),
                        incoming_features=row.f, outcome=outcome,
                        source=f"batch:{self.source}:{row.number}")


def _known_distinct_stored(best: int, rivals: list[int]) -> set[int]:
    stored = [rival for rival in rivals if rival >= 0]
    if best < 0 or not stored:  # people this chunk is creating have no review history
        return set()
    from reachable.mpi.selectors import known_distinct_among

    return known_distinct_among(best, stored)


def link_file(path: Path | str, *, agency: str, engine: str = "duckdb",
              chunk_size: int | None = None, progress: bool = True, stream: Any = None
              ) -> Summary:
    """Link one agency extract; returns the summary (the command prints it as JSON)."""
    from reachable.organisations.models import Agency

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if not Agency.objects.filter(code=agency).exists():
        raise ValueError(f"unknown agency {agency!r}")
    linker = BatchLinker(agency=agency, engine=engine, source=path.name, progress=progress)
    try:
        return linker.link(path, chunk_size=chunk_size, stream=stream)
    finally:
        linker.close()
