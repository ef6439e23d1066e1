"""``reachable link train``: the model estimated on the local population, saved as versioned
JSON, made active, and its version recorded on every link made after it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reachable.audit.models import AuditRecord
from reachable.identity.batch import COLUMNS, link_file
from reachable.identity.models import LinkageModel, LinkDecision, MatchProfile
from reachable.identity.modelstore import active_scorer, default_document
from reachable.identity.synthetic import synthetic_records
from reachable.organisations.services import agency_create

pytestmark = pytest.mark.django_db
QUICK = ("--max-pairs", "20000")  # u from 20,000 random pairs: enough for a few hundred


def _extract(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _train(*args: str) -> tuple[dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("link", "train", *QUICK, *args, stdout=out, stderr=err)
    summary: dict[str, Any] = json.loads(out.getvalue())
    return summary, err.getvalue()


@pytest.fixture
def population(tmp_path: Path) -> list[dict[str, Any]]:
    """A school's extract linked into an empty index with the packaged model."""
    agency_create(actor=None, code="school", name="School", kind="school")
    rows = list(synthetic_records(600, seed=5))
    link_file(_extract(tmp_path / "first.csv", rows[:400]), agency="school", progress=False)
    return rows


def test_training_on_the_index_makes_the_model_every_later_link_records(
        population: list[dict[str, Any]], tmp_path: Path) -> None:
    packaged = default_document()["version"]
    assert set(LinkDecision.objects.values_list("model_version", flat=True)) == {packaged}
    saved = tmp_path / "model.json"

    summary, progress = _train("--output", str(saved))

    live_profiles = MatchProfile.objects.filter(person__merged_into__isnull=True).count()
    assert summary["records"] == live_profiles
    assert summary["version"].startswith("local-") and summary["version"] != packaged
    assert (summary["stored"], summary["active"]) == (True, True)
    document = json.loads(saved.read_text())
    assert document["version"] == summary["version"]
    assert document["trained_on"]["records"] == live_profiles
    assert document["splink"]["comparisons"] and document["term_frequencies"]["surname"]
    assert active_scorer().version == summary["version"]
    assert AuditRecord.objects.filter(action="linkage_model.installed",
                                      detail__version=summary["version"]).exists()
    for stage in ("reading the population", "u-probabilities", "expectation maximisation",
                  "stored and active"):
        assert stage in progress

    before = set(LinkDecision.objects.values_list("pk", flat=True))
    link_file(_extract(tmp_path / "second.csv", population[400:]), agency="school",
              progress=False)
    later = LinkDecision.objects.exclude(pk__in=before)
    assert later.exists()
    assert set(later.values_list("model_version", flat=True)) == {summary["version"]}


def test_the_same_population_and_seed_give_the_same_version(
        population: list[dict[str, Any]]) -> None:
    first, _ = _train("--no-activate", "--no-progress")
    again, quiet = _train("--no-activate", "--no-progress")
    assert first["version"] == again["version"]
    assert quiet == ""
    assert (again["stored"], again["active"]) == (True, False)
    assert LinkageModel.objects.filter(version=first["version"]).count() == 1
    assert active_scorer().version == default_document()["version"]  # left as it was


def test_refusals_store_nothing(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--no-store needs --output"):
        _train("--no-store")
    with pytest.raises(CommandError, match="at least 50 records"):
        _train()  # an empty index
    assert not LinkageModel.objects.exists()
