"""``reachable bench linkage``: one JSON object, every entry with its baseline (tiny sizes)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from reachable.identity.models import LinkDecision
from reachable.people.models import Person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("entry", "size", "figures"), [
    ("synthetic-10k", "300", {"precision", "recall", "f1", "seconds"}),
    ("online-1m", "1500", {"median_ms", "p95_ms"}),
])
def test_bench_linkage_entry_prints_figures_and_baseline(entry: str, size: str,
                                                         figures: set[str]) -> None:
    out, err = StringIO(), StringIO()
    call_command("bench", "linkage", "--only", entry, "--size", f"{entry}={size}",
                 stdout=out, stderr=err)
    report = json.loads(out.getvalue())
    assert [r["name"] for r in report["results"]] == [entry]
    result = report["results"][0]
    assert figures <= set(result) and figures <= set(result["baseline"])
    if entry == "synthetic-10k":
        assert result["f1"] > 0.9 and result["twin_pairs_merged"] == 0
    else:
        assert result["median_ms"] < result["baseline"]["median_ms"]
    # All of it happened in a scratch database.
    assert not Person.objects.exists() and not LinkDecision.objects.exists()


def test_merged_twin_pairs_are_named_and_counted() -> None:
    from reachable.bench.linkage import merged_twin_pairs, twins_merged

    truth = {"r1": "A", "r2": "A", "r3": "B", "r4": "C", "r5": "D"}
    twins = {("A", "B"), ("C", "D")}
    predicted = {"r1": 1, "r2": 2, "r3": 2, "r4": 3, "r5": 4}  # B joined one of A's people
    assert merged_twin_pairs(predicted, truth, twins) == [("A", "B")]
    assert twins_merged(predicted, truth, twins) == 1
    assert twins_merged({**predicted, "r3": 5}, truth, twins) == 0


def test_missed_pairs_are_counted_by_why_they_were_missed() -> None:
    from reachable.bench.linkage import missed_pairs
    from reachable.identity.features import features

    home = {"postcode": "E17 4QP", "line": "12 Forest Road"}
    child = features({"given_name": "Kacper", "family_name": "Nowak",
                      "date_of_birth": "2012-09-14", "address": home})
    like_a_parent = features({"given_name": "Kacper", "family_name": "Nowak",
                              "date_of_birth": "1984-11-20", "address": home})
    unrelated_looking = features({"given_name": "Jack", "family_name": "Doyle",
                                  "date_of_birth": "2009-10-30",
                                  "address": {"postcode": "M1 1AE", "line": "3 Mill Lane"}})
    counts = missed_pairs([(like_a_parent, child), (unrelated_looking, child), (child, child)])
    assert counts == {"pairs": 3, "never_blocked": 1, "held_by_safeguard": 0,
                      "below_auto_link_like_relatives": 1, "below_auto_link": 0, "other": 1}
    assert "tf_forename" not in child  # the caller's records are left as they were


def test_a_large_baseline_is_trained_on_a_sample_and_predicts_over_everything() -> None:
    from reachable.bench.linkage import _baseline_linker, _synthetic_subject, baseline_record
    from reachable.identity.synthetic import synthetic_records

    rows = [baseline_record(_synthetic_subject(r), r["record_id"])
            for r in synthetic_records(400, seed=3)]
    sampled = _baseline_linker([rows], "dedupe_only", training_records=150)
    whole = _baseline_linker([rows], "dedupe_only", training_records=10_000)
    trained = sampled.misc.save_model_to_json()
    assert trained != whole.misc.save_model_to_json()  # trained on other records
    forename = next(c for c in trained["comparisons"] if c["output_column_name"] == "forename")
    assert any("m_probability" in level for level in forename["comparison_levels"])
    # It scores every record, not only the sample it learnt from.
    predicted = sampled.inference.predict(threshold_match_probability=0.5)
    uids = {uid for pair in predicted.as_duckdbpyrelation().select("uid_l, uid_r").fetchall()
            for uid in pair}
    assert len(uids) > 150
    assert uids <= {row["uid"] for row in rows}
