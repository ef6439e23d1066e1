"""``reachable link FILE``: bad rows reported and skipped, chunks written whole."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from reachable.audit.models import AuditRecord
from reachable.core import clock
from reachable.identity import batch
from reachable.identity.batch import COLUMNS, BatchLinker, link_file
from reachable.identity.models import LinkDecision
from reachable.intake.services import event_submit
from reachable.mpi.models import PersonMerge
from reachable.mpi.services import person_merge, person_unmerge
from reachable.organisations.models import Role
from reachable.organisations.services import agency_create
from reachable.people.models import Identifier, Person
from tests.borough import Borough, build_borough, custody_event, one_child_recorded_twice
from tests.world import AT

pytestmark = pytest.mark.django_db

GOOD = [
    {"record_id": "H1", "given_name": "William", "family_name": "Hartley",
     "date_of_birth": "2012-03-07", "sex": "M", "nhs_number": "9434765919",
     "postcode": "N16 7AB", "address_line": "12 Acacia Road"},
    {"record_id": "H2", "given_name": "Bill", "family_name": "Hartley",
     "date_of_birth": "07/03/2012", "sex": "M", "postcode": "N16 7AB",
     "address_line": "12 Acacia Rd"},
    {"record_id": "H3", "given_name": "Amara", "family_name": "Okafor",
     "date_of_birth": "2014-05-06", "sex": "F", "postcode": "E8 1AA", "address_line": "3 Mare St"},
]
BAD = [
    ({"record_id": "B1", "given_name": "Bad", "family_name": "Number",
      "nhs_number": "1234567890"}, "nhs_number"),
    ({"record_id": "B2", "given_name": "Bad", "family_name": "Date",
      "date_of_birth": "2012-13-40"}, "date_of_birth"),
    ({"record_id": "B3", "given_name": "Bad", "family_name": "Postcode",
      "postcode": "NOT A PC"}, "postcode"),
    ({"record_id": "B4", "sex": "M"}, "needs a name or an identifier"),
    ({"record_id": "B5", "given_name": "Future", "family_name": "Child",
      "date_of_birth": "2999-01-01"}, "in the future"),
]


@pytest.fixture
def agency(db: None) -> str:
    agency_create(actor=None, code="nhs-trust", name="Trust", kind="health")
    return "nhs-trust"


def _rows() -> list[dict[str, Any]]:
    rows = [GOOD[0], BAD[0][0], GOOD[1], BAD[1][0], BAD[2][0], GOOD[2], BAD[3][0], BAD[4][0]]
    return [{c: r.get(c, "") for c in COLUMNS} for r in rows]


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("writer", [_csv, _parquet], ids=["csv", "parquet"])
def test_bad_rows_are_reported_with_row_number_and_reason_and_skipped(
        agency: str, tmp_path: Path, writer: Any) -> None:
    path = writer(tmp_path / f"extract.{'csv' if writer is _csv else 'parquet'}", _rows())
    summary = link_file(path, agency=agency, chunk_size=3, progress=False)
    assert summary.rows == 8 and summary.bad_rows == 5
    reported = {e["row"]: e["reason"] for e in summary.errors}
    assert sorted(reported) == [2, 4, 5, 7, 8]
    for (row, (_, field)) in zip((2, 4, 5, 7, 8), BAD, strict=True):
        assert field in reported[row]
    # The good rows: William and "Bill" (nickname, dd/mm/yyyy date) are one child; Amara another.
    assert summary.new_people == 2 and Person.objects.count() == 2
    william = Identifier.objects.get(value="9434765919").person
    sources = dict(LinkDecision.objects.values_list("source", "person_id"))
    assert sources[f"batch:{path.name}:1"] == sources[f"batch:{path.name}:3"] == william.pk
    assert set(william.names.values_list("given_name", flat=True)) == {"William", "Bill"}
    assert not Person.objects.filter(family_name__in=["Number", "Date", "Postcode"]).exists()
    # One audit record per chunk that wrote anything (rows 1-3 and 4-6; 7-8 were all bad).
    assert AuditRecord.objects.filter(action="identity.batch_linked").count() == 2


def test_malformed_csv_lines_are_bad_rows_too(agency: str, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("record_id,given_name,family_name,date_of_birth\n"
                    "R1,Amira,Testcase,2012-05-01\n"
                    "R2,Too,Many,2012-05-01,extra\n"
                    "R3,Too\n")
    summary = link_file(path, agency=agency, progress=False)
    assert [e["row"] for e in summary.errors] == [2, 3]
    assert "more fields" in summary.errors[0]["reason"]
    assert "fewer fields" in summary.errors[1]["reason"]
    assert Person.objects.count() == 1


def test_a_failing_chunk_writes_nothing_of_itself(agency: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from reachable.identity import batch

    path = _csv(tmp_path / "extract.csv", [{c: r.get(c, "") for c in COLUMNS} for r in GOOD])
    original = batch.BatchLinker._write_addresses
    calls = {"n": 0}

    def failing(self: Any, rows: Any, at: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        original(self, rows, at)

    monkeypatch.setattr(batch.BatchLinker, "_write_addresses", failing)
    with pytest.raises(RuntimeError):
        link_file(path, agency=agency, chunk_size=2, progress=False)
    # The first chunk (two rows, one person) committed; the second left no trace.
    assert Person.objects.count() == 1
    assert LinkDecision.objects.count() == 2
    assert not Person.objects.filter(given_name="Amara").exists()
    # Re-run after the failure: the committed chunk's rows are skipped, the rest go in once.
    monkeypatch.setattr(batch.BatchLinker, "_write_addresses", original)
    summary = link_file(path, agency=agency, chunk_size=2, progress=False)
    assert (summary.already_linked, summary.new_people) == (2, 1)
    assert Person.objects.count() == 2 and LinkDecision.objects.count() == 3


@pytest.mark.parametrize("with_ids", [True, False], ids=["record-ids", "no-record-ids"])
def test_linking_the_same_extract_twice_links_nothing_twice(agency: str, tmp_path: Path,
                                                            with_ids: bool) -> None:
    rows = [{c: r.get(c, "") for c in COLUMNS} for r in GOOD]
    if not with_ids:
        rows = [{**r, "record_id": ""} for r in rows]
    path = _csv(tmp_path / "extract.csv", rows)
    first = link_file(path, agency=agency, progress=False)
    counts = (Person.objects.count(), LinkDecision.objects.count(),
              Identifier.objects.count(), AuditRecord.objects.count())
    again = link_file(path, agency=agency, progress=False)
    assert (first.already_linked, again.already_linked) == (0, 3)
    assert again.new_people == again.linked == again.review == 0
    assert (Person.objects.count(), LinkDecision.objects.count(),
            Identifier.objects.count(), AuditRecord.objects.count()) == counts
    # A row whose content changed (no record id) or a new record id is new work.
    changed = [*rows, {**rows[2], "record_id": "H4" if with_ids else "",
                       "address_line": "4 Mare St"}]
    third = link_file(_csv(tmp_path / "extract2.csv", changed), agency=agency, progress=False)
    assert (third.already_linked, third.rows - third.already_linked) == (3, 1)
    assert third.linked == 1 and Person.objects.count() == counts[0]


def test_the_command_prints_the_summary_as_json(agency: str, tmp_path: Path) -> None:
    path = _csv(tmp_path / "extract.csv", _rows())
    out, err = io.StringIO(), io.StringIO()
    call_command("link", str(path), "--agency", agency, stdout=out, stderr=err)
    summary = json.loads(out.getvalue())
    assert summary["rows"] == 8 and summary["bad_rows"] == 5 and summary["new_people"] == 2
    assert summary["model_version"] and summary["engine"] == "duckdb"
    assert "linking extract.csv" in err.getvalue()  # tqdm progress on stderr


def test_the_command_links_in_the_engines_chunks_unless_told(
        agency: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Online intake waits for the chunk in hand, so each engine has its own default size."""
    monkeypatch.setattr(batch, "CHUNK_SIZES", {"duckdb": 3, "spark": 1_000})
    path = _csv(tmp_path / "extract.csv", _rows())
    out = io.StringIO()
    call_command("link", str(path), "--agency", agency, "--no-progress", stdout=out)
    # Rows 1-3 and 4-6 each hold good rows; 7-8 are both bad, so nothing is linked there.
    assert json.loads(out.getvalue())["chunks"] == 2
    again = _csv(tmp_path / "again.csv", [{**r, "record_id": f"X{r['record_id']}"}
                                           for r in _rows()])
    out = io.StringIO()
    call_command("link", str(again), "--agency", agency, "--no-progress", "--chunk-size", "8",
                 stdout=out)
    assert json.loads(out.getvalue())["chunks"] == 1
    with pytest.raises(CommandError, match="at least 1"):
        call_command("link", str(again), "--agency", agency, "--chunk-size", "0")


def test_a_street_given_without_a_postcode_still_tells_where_the_child_lives(
        agency: str, tmp_path: Path) -> None:
    """An extract that gives the street but no postcode: the line is compared, so the record
    links to the child at that street, where with no location at all "names and a date of
    birth only" would have held it for review. No address is stored without a postcode."""
    from reachable.people.models import Address

    first = {**{c: "" for c in COLUMNS}, **GOOD[0], "record_id": "H1"}
    street_only = {**first, "record_id": "S1", "nhs_number": "", "given_name": "Wiliam",
                   "postcode": "", "address_line": "12 Acacia Road"}
    nothing = {**street_only, "record_id": "S2", "given_name": "Willaim", "address_line": ""}
    link_file(_csv(tmp_path / "a.csv", [first]), agency=agency, progress=False)
    link_file(_csv(tmp_path / "b.csv", [street_only, nothing]), agency=agency, progress=False)
    decisions = dict(LinkDecision.objects.filter(source__startswith="batch:b.csv")
                     .values_list("source", "decision"))
    assert decisions == {"batch:b.csv:1": "auto_link", "batch:b.csv:2": "review"}
    william = Person.objects.get(identifiers__value="9434765919")
    assert LinkDecision.objects.get(source="batch:b.csv:1").person_id == william.pk
    assert list(Address.objects.values_list("postcode", flat=True)) == ["N16 7AB"]


def _row(record: str, given: str, family: str = "Nowak", dob: str = "2011-07-19"
         ) -> tuple[int, dict[str, Any]]:
    subject = {"record_id": record, "given_name": given, "family_name": family,
               "date_of_birth": dob}
    return 1, {c: subject.get(c, "") for c in COLUMNS}


def _linked_to(record: str) -> int:
    return LinkDecision.objects.get(record_key=f"nhs-trust:id:{record}").person_id


def test_a_child_an_event_made_while_a_file_was_being_linked_is_found_not_made_again(
        db: None) -> None:
    """The linker's snapshot of the index is taken when it starts; each chunk first learns
    what others committed since (here an agency's event about a child new to the index)."""
    build_borough()
    linker = BatchLinker(agency="nhs-trust", source="extract.csv", progress=False)
    try:
        with clock.frozen_at(AT):
            online = event_submit(actor=None, payload=custody_event(nhs=None))
        linker.link_chunk([_row("H1", "Tomasz")])
    finally:
        linker.close()
    child = Person.objects.get()
    assert online.result["person"] == child.ref
    assert _linked_to("H1") == child.pk


def _one_child_merged_from_two(borough: Borough) -> tuple[Person, Person]:
    """Two records a reviewer took for one child."""
    with clock.frozen_at(AT):
        return one_child_recorded_twice(borough, given="Zofia")


def _merge(survivor: Person, merged: Person) -> None:
    person_merge(actor=None, survivor=survivor, merged=merged,
                 reason="One child: a reviewer compared both records.")


def test_rows_are_not_linked_to_a_person_merged_away_while_the_file_was_being_linked(
        db: None) -> None:
    survivor, merged = _one_child_merged_from_two(build_borough())
    linker = BatchLinker(agency="nhs-trust", source="extract.csv", progress=False)
    try:
        _merge(survivor, merged)
        linker.link_chunk([_row("H1", "Zofia")])  # the merged record's description
    finally:
        linker.close()
    assert _linked_to("H1") == survivor.pk


def test_rows_follow_a_merge_undone_while_the_file_was_being_linked(db: None) -> None:
    borough = build_borough()
    survivor, merged = _one_child_merged_from_two(borough)
    _merge(survivor, merged)
    linker = BatchLinker(agency="nhs-trust", source="extract.csv", progress=False)
    try:
        person_unmerge(actor=borough.users[Role.MASH_MANAGER],
                       merge_id=PersonMerge.objects.get().pk, reason="Not one child after all.")
        linker.link_chunk([_row("H1", "Zofia")])
    finally:
        linker.close()
    assert _linked_to("H1") == merged.pk
