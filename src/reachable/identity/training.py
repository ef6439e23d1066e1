"""Estimate the linkage model on a population and save it as versioned JSON.

Unsupervised, as Splink intends: the prior from deterministic rules, u-probabilities by random
sampling (seeded, so the same population gives the same model), then m-probabilities by
expectation maximisation on a few blocking rules. The saved model is a JSON document:

    {"format": "reachable-linkage/1", "version": "...", "trained_at": "...",
     "trained_on": {...}, "splink": <Splink's settings JSON>,
     "term_frequencies": {"forename": {value: frequency}, ...}, "tf_floor": {...}}

The term-frequency tables travel with the model so that the online scorer, the batch linker
and Splink all adjust with the same frequencies (values the population never showed get the
frequency of an uncommon value, see ``_floor``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pyarrow as pa

from reachable.identity.duckdb_connection import duckdb_connect
from reachable.identity.features import FEATURE_COLUMNS, TF_COLUMNS, Record
from reachable.identity.splink_settings import (
    DETERMINISTIC_RECALL,
    DETERMINISTIC_RULES,
    TRAINING_BLOCKS,
    project_settings,
)

FORMAT = "reachable-linkage/1"
TF_TABLE_LIMIT = 50_000  # most frequent values kept per column; the rest share the floor
FLOOR_QUANTILE = 0.25


def term_frequencies(records: list[Record]) -> tuple[dict[str, dict[str, float]],
                                                     dict[str, float]]:
    """Relative frequency of each value among non-missing values (Splink's definition)."""
    tables: dict[str, dict[str, float]] = {}
    floors: dict[str, float] = {}
    for column in TF_COLUMNS:
        counts = Counter(r[column] for r in records if r.get(column) is not None)
        total = sum(counts.values()) or 1
        common = counts.most_common(TF_TABLE_LIMIT)
        tables[column] = {value: n / total for value, n in common}
        floors[column] = _floor(counts, total)
    return tables, floors


def _floor(counts: Counter[str], total: int) -> float:
    """The frequency given to a value the population never showed: that of an uncommon value
    (the one below which the rarest quarter of records fall). Not 1/N: a model trained on
    synthetic names must not treat every real name it meets as unique."""
    seen = 0
    for _, n in sorted(counts.items(), key=lambda item: (item[1], item[0])):
        seen += n
        if seen >= FLOOR_QUANTILE * total:
            return n / total
    return 1 / total


def feature_table(records: list[Record], *, tables: dict[str, dict[str, float]],
                  floors: dict[str, float]) -> pa.Table:
    """An Arrow table of feature records with ``uid`` and hard-coded ``tf_`` columns."""
    columns: dict[str, list[Any]] = {"uid": [str(r["uid"]) for r in records]}
    for column in FEATURE_COLUMNS:
        columns[column] = [r.get(column) for r in records]
    for column in TF_COLUMNS:
        table, floor = tables[column], floors[column]
        columns[f"tf_{column}"] = [None if r.get(column) is None else table.get(r[column], floor)
                                   for r in records]
    schema = pa.schema([("uid", pa.string())] + [(c, pa.string()) for c in FEATURE_COLUMNS]
                       + [(f"tf_{c}", pa.float64()) for c in TF_COLUMNS])
    return pa.table(columns, schema=schema)


def _usable_block(rows: list[Record], alternatives: tuple[tuple[str, ...], ...]
                  ) -> tuple[str, ...]:
    """The first blocking rule whose columns are shared by at least 1% of records."""
    for cols in alternatives:
        keys = Counter(tuple(r.get(c) for c in cols) for r in rows
                       if all(r.get(c) is not None for c in cols))
        shared = sum(n for n in keys.values() if n > 1)
        if shared >= 0.01 * len(rows):
            return cols
    return alternatives[-1]


def model_version(splink_json: dict[str, Any], label: str, at: datetime) -> str:
    digest = hashlib.sha256(json.dumps(splink_json, sort_keys=True).encode()).hexdigest()
    return f"{label}-{at:%Y%m%d}-{digest[:10]}"


def train(records: Iterable[Record], *, label: str, at: datetime, seed: int = 42,
          max_pairs: float = 2e6, description: str = "",
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train on feature records (each with a ``uid``); returns the model document.

    ``progress`` is told each stage as it starts: on a borough's population training takes
    minutes, most of them in u-sampling and expectation maximisation."""
    from splink import DuckDBAPI, Linker, block_on

    def stage(text: str) -> None:
        if progress is not None:
            progress(text)

    rows = list(records)
    if len(rows) < 50:
        raise ValueError("training needs at least 50 records")
    stage(f"{len(rows)} records: term frequencies of names and postcodes")
    tables, floors = term_frequencies(rows)
    # One thread: with more, DuckDB's parallel sums add the same numbers in a different order
    # from run to run, the m-probabilities differ in their last bits, and so would the
    # version (a hash of the model): the same population and seed must give the same model.
    con = duckdb_connect(threads=1)
    db_api = DuckDBAPI(connection=con)
    data = db_api.register(feature_table(rows, tables=tables, floors=floors))
    linker = Linker(data, project_settings(), log_level=logging.WARNING)
    stage("prior from the deterministic rules")
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*cols) for cols in DETERMINISTIC_RULES], recall=DETERMINISTIC_RECALL)
    stage(f"u-probabilities from {max_pairs:,.0f} random pairs (seed {seed})")
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for number, alternatives in enumerate(TRAINING_BLOCKS, start=1):
        cols = _usable_block(rows, alternatives)
        stage(f"m-probabilities by expectation maximisation {number}/{len(TRAINING_BLOCKS)}: "
              f"pairs agreeing on {', '.join(cols)}")
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*cols), estimate_without_term_frequencies=True)
    splink_json = linker.misc.save_model_to_json()
    splink_json.pop("linker_uid", None)
    con.close()
    return {
        "format": FORMAT,
        "version": model_version(splink_json, label, at),
        "trained_at": at.isoformat(),
        "trained_on": {"records": len(rows), "seed": seed, "max_pairs": max_pairs,
                       "description": description},
        "splink": splink_json,
        "term_frequencies": tables,
        "tf_floor": floors,
    }


def training_records() -> list[Record]:
    """The local population: every live match profile in the index."""
    from reachable.identity.models import MatchProfile

    fields = ("id", *FEATURE_COLUMNS)
    rows = (MatchProfile.objects.filter(person__merged_into__isnull=True)
            .values_list(*fields).order_by("id"))
    return [{"uid": f"p{values[0]}", **dict(zip(FEATURE_COLUMNS, values[1:], strict=True))}
            for values in rows.iterator(chunk_size=20_000)]
