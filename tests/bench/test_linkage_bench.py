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
