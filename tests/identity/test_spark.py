"""``--engine spark``: the same model on Splink's Spark backend (pyspark local mode).

Small on purpose: starting a local Spark (a JVM) takes most of a minute on a busy two-core
machine; the file itself is a dozen rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reachable.identity.batch import COLUMNS, link_file
from reachable.identity.models import LinkDecision
from reachable.identity.synthetic import synthetic_records
from reachable.organisations.services import agency_create

pytestmark = pytest.mark.django_db


def test_spark_engine_links_a_small_file_as_duckdb_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # where the command is run from: Spark leaves nothing there
    agency_create(actor=None, code="school", name="School", kind="school")
    rows = [r for r in synthetic_records(40, seed=11)][:14]
    for row in rows:
        row["nhs_number"] = row["upn"] = ""  # make the model do the linking
    path = tmp_path / "extract.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    duck = link_file(path, agency="school", engine="duckdb", progress=False)
    duck_people = dict(LinkDecision.objects.values_list("source", "person_id"))
    LinkDecision.objects.all().delete()
    # Against the index DuckDB just built, Spark must put every row with the same people.
    spark = link_file(path, agency="school", engine="spark", progress=False)
    spark_people = dict(LinkDecision.objects.values_list("source", "person_id"))
    assert spark.engine == "spark" and spark.rows == duck.rows == 14
    assert spark.new_people == 0  # every row now finds the person DuckDB's run created
    assert spark_people == duck_people
    assert list(workdir.iterdir()) == []
