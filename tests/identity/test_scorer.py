"""The pure-Python scorer gives exactly Splink's match weights for the saved model."""

from __future__ import annotations

import itertools
import random

import pyarrow as pa
import pytest

from reachable.identity.batch import _arrow
from reachable.identity.blocking import keys_for
from reachable.identity.engines import DuckDBEngine
from reachable.identity.features import features
from reachable.identity.modelstore import default_document, scorer_for
from reachable.identity.scorer import Scorer, probability
from reachable.identity.synthetic import synthetic_records


def _sample(scorer: Scorer) -> tuple[list[dict[str, object]], list[tuple[int, int]]]:
    records = []
    for raw in synthetic_records(600, seed=99):
        subject = {k: raw[k] for k in ("given_name", "family_name", "date_of_birth", "sex",
                                       "nhs_number") if raw[k]}
        if raw["postcode"]:
            subject["address"] = {"postcode": raw["postcode"], "line": raw["address_line"]}
        records.append(scorer.with_tf(features(subject)))
    by_key: dict[str, list[int]] = {}
    for i, f in enumerate(records):
        for key in keys_for(f):
            by_key.setdefault(key, []).append(i)
    pairs = {pair for ids in by_key.values() for pair in itertools.combinations(ids, 2)}
    rng = random.Random(3)
    pairs |= {tuple(sorted(rng.sample(range(len(records)), 2))) for _ in range(300)}  # type: ignore[misc]
    return records, sorted(pairs)


def test_python_weights_equal_splinks_for_a_sample_of_pairs() -> None:
    document = default_document()
    scorer = scorer_for(document)
    records, pairs = _sample(scorer)
    assert len(pairs) > 500
    table = _arrow([(f"r{i}", 0, f) for i, f in enumerate(records)], scorer)
    pair_table = pa.table({"join_key_l": [f"r{a}" for a, _ in pairs],
                           "join_key_r": [f"r{b}" for _, b in pairs]})
    splink = DuckDBEngine(document).score(table, pair_table, threshold=-1e9)
    theirs = {(l_uid, r_uid): w for l_uid, r_uid, w in zip(
        splink.column("uid_l").to_pylist(), splink.column("uid_r").to_pylist(),
        splink.column("match_weight").to_pylist(), strict=True)}
    assert len(theirs) == len(pairs)
    levels_seen = set()
    for a, b in pairs:
        ours = scorer.score(records[a], records[b])
        expected = theirs.get((f"r{a}", f"r{b}"), theirs.get((f"r{b}", f"r{a}")))
        assert expected is not None
        assert ours == pytest.approx(expected, abs=1e-9), (records[a], records[b])
        levels_seen |= set(scorer.levels(records[a], records[b]).items())
    # The sample exercises fuzzy, swapped, nickname and term-frequency levels, not just exact.
    labels = {label for _, label in levels_seen}
    assert {"Forename Jaro-Winkler >= 0.92", "Exact forename", "Exact surname",
            "All other comparisons", "Same postcode and address"} <= labels


def test_explain_adds_up_to_the_weight() -> None:
    scorer = scorer_for(default_document())
    a = scorer.with_tf(features({"given_name": "William", "family_name": "Hart",
                                 "date_of_birth": "2012-03-07", "sex": "M",
                                 "address": {"postcode": "N16 7AB", "line": "1 High St"}}))
    b = scorer.with_tf(features({"given_name": "Bill", "family_name": "Hart",
                                 "date_of_birth": "2012-07-03",
                                 "address": {"postcode": "N16 7AB", "line": "1 High Street"}}))
    parts = scorer.explain(a, b)
    assert scorer.prior_weight + sum(p.match_weight for p in parts) == pytest.approx(
        scorer.score(a, b))
    by_field = {p.field: p for p in parts}
    assert by_field["forename"].level == "Same nickname group"
    assert by_field["dob"].level == "Day and month swapped"
    assert by_field["sex"].agreement == "null"
    assert 0.0 < probability(scorer.score(a, b)) <= 1.0


def test_a_model_whose_levels_do_not_match_the_code_is_refused() -> None:
    document = default_document()
    comparisons = document["splink"]["comparisons"][:-1]
    broken = {**document, "version": "broken",
              "splink": {**document["splink"], "comparisons": comparisons}}
    with pytest.raises(ValueError, match="no comparison"):
        Scorer(broken)
