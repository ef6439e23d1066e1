"""``reachable intake FILE --agency CODE`` (``intake.files``): an agency's event file goes
through the batch door line by line, each refusal named by its line number, nothing written
twice when the file is run again."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reachable.audit.models import AuditRecord
from reachable.audit.verify import verify_chain
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.intake.files import events_import_file
from reachable.rules.models import Alert
from tests.borough import Borough, custody_event

AT = datetime.fromisoformat("2025-03-06T10:15:00+00:00")


def _line(payload: Any) -> bytes:
    return json.dumps(payload).encode() + b"\n"


def _mixed_file(path: Path) -> Path:
    """Eleven lines, two blank: what a real extract gets wrong, among what it gets right."""
    changed = custody_event(record="F-1")
    changed["data"]["offence"] = "burglary"
    path.write_bytes(b"".join([
        b"\xef\xbb\xbf" + _line(custody_event(record="F-1")),  # 1: with a byte-order mark
        b"\n",  # 2: blank, skipped
        b'{"type": "custody.booked", "source": \n',  # 3: not JSON
        _line(custody_event(record="F-4", nhs="1234567890")),  # 4: invalid NHS number
        _line([custody_event(record="F-5")]),  # 5: JSON, but not an envelope
        _line(custody_event(record="F-1")),  # 6: a repeat: already accepted
        _line(changed),  # 7: same record id, other content
        _line(custody_event(record="F-8", agency="notts-police", force="nottinghamshire")),
        b'{"note": "caf\xe9"}\r\n',  # 9: Latin-1, not UTF-8
        b"   \r\n",  # 10: blank
        _line(custody_event(record="F-11", given="Anna", family="Kowalska", nhs=None,
                            dob="2012-01-02")),  # 11: a second child
        b'{"pad": "' + b"x" * (64 * 1024) + b'"}\n',  # 12: longer than the API would take
    ]))
    return path


def test_a_file_goes_in_line_by_line_with_every_refusal_named_by_line(
    borough: Borough, tmp_path: Path,
) -> None:
    police = borough.system_for("met-police")
    path = _mixed_file(tmp_path / "custody.ndjson")
    audit_before = AuditRecord.objects.count()
    with clock.frozen_at(AT):
        summary = events_import_file(path, actor=police)
    assert (summary.lines, summary.accepted, summary.already_accepted, summary.refused) == (
        10, 2, 1, 7)
    assert [(r.line, r.kind) for r in summary.refusals] == [
        (3, "unreadable"), (4, "invalid"), (5, "invalid"), (7, "conflict"), (8, "forbidden"),
        (9, "unreadable"), (12, "unreadable")]
    by_line = {r.line: r.errors for r in summary.refusals}
    assert "subject.nhs_number" in by_line[4]
    assert "not JSON" in by_line[3]["non_field_errors"][0]
    assert "not UTF-8" in by_line[9]["non_field_errors"][0]
    assert "at most 65536" in by_line[12]["non_field_errors"][0]
    # Both children are in, each booking alerted the MASH, one audit record per new event.
    assert sorted(Event.objects.values_list("source_record", flat=True)) == ["F-1", "F-11"]
    assert summary.alerts == Alert.objects.filter(rule_id="golden-hour").count() == 2
    assert summary.clocks == 2
    assert AuditRecord.objects.count() == audit_before + 2
    assert verify_chain().intact


def test_running_a_file_again_writes_nothing_and_batches_do_not_change_the_answers(
    borough: Borough, tmp_path: Path,
) -> None:
    police = borough.system_for("met-police")
    path = _mixed_file(tmp_path / "custody.ndjson")
    with clock.frozen_at(AT):
        first = events_import_file(path, actor=police, batch_size=3)
    events, audit = Event.objects.count(), AuditRecord.objects.count()
    with clock.frozen_at(AT):
        again = events_import_file(path, actor=police, batch_size=500)
    assert (first.accepted, first.already_accepted) == (2, 1)
    assert (again.accepted, again.already_accepted) == (0, 3)
    # Batches of three split the file across four transactions; the refusals and their
    # line numbers are the same as in one batch.
    assert [(r.line, r.kind, r.errors) for r in first.refusals] == [
        (r.line, r.kind, r.errors) for r in again.refusals]
    assert (Event.objects.count(), AuditRecord.objects.count()) == (events, audit)


def test_the_command_prints_the_summary_and_fails_when_a_line_was_refused(
    borough: Borough, tmp_path: Path,
) -> None:
    borough.system_for("met-police")
    good = tmp_path / "good.ndjson"
    good.write_bytes(_line(custody_event(record="G-1")) + _line(custody_event(record="G-2")))
    out = io.StringIO()
    with clock.frozen_at(AT):
        call_command("intake", str(good), agency="met-police", no_progress=True, stdout=out)
    summary = json.loads(out.getvalue())
    assert (summary["accepted"], summary["refused"], summary["refusals"]) == (2, 0, [])
    assert summary["agency"] == "met-police" and summary["file"] == "good.ndjson"

    bad = _mixed_file(tmp_path / "bad.ndjson")
    out = io.StringIO()
    with clock.frozen_at(AT), pytest.raises(CommandError, match="7 of 10 lines refused"):
        call_command("intake", str(bad), agency="met-police", no_progress=True, stdout=out)
    assert json.loads(out.getvalue())["refused"] == 7  # the summary is printed first


def test_the_command_refuses_what_it_cannot_start(borough: Borough, tmp_path: Path) -> None:
    path = tmp_path / "one.ndjson"
    path.write_bytes(_line(custody_event(record="U-1")))
    with pytest.raises(CommandError, match="no active agency system account"):
        call_command("intake", str(path), agency="no-such-agency", no_progress=True)
    borough.system_for("met-police")
    with pytest.raises(CommandError, match="no such file"):
        call_command("intake", str(tmp_path / "missing.ndjson"), agency="met-police",
                     no_progress=True)
    with pytest.raises(CommandError, match="at least 1"):
        call_command("intake", str(path), agency="met-police", batch_size=0, no_progress=True)
    assert not Event.objects.exists()
