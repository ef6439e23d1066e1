"""``reachable bench rules``: one JSON object with both measurements and their baselines,
run in scratch databases so the configured one is left as it was."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from reachable.audit.models import AuditRecord
from reachable.rules.models import Clock
from reachable.rules.registry import all_rules


def test_bench_rules_prints_one_json_object_and_leaves_the_database_untouched(db: None) -> None:
    before = (AuditRecord.objects.count(), Clock.objects.count())
    out, err = StringIO(), StringIO()
    call_command("bench", "rules", "--events", "40", "--clocks", "300", "--repeats", "1",
                 stdout=out, stderr=err)
    report = json.loads(out.getvalue())
    assert report["vendor"] == connection.vendor
    intake = report["intake"]
    assert intake["events"] == 40 and intake["rules"] == len(all_rules()) > 0
    assert intake["no_rules_events_per_s"] > 0 and intake["full_events_per_s"] > 0
    assert intake["cost"] == pytest.approx(
        1 - intake["full_events_per_s"] / intake["no_rules_events_per_s"], abs=0.001)
    assert intake["alerts_no_rules"] == 0 < intake["alerts_full"]  # rules really were off/on
    assert isinstance(intake["meets_target"], bool)
    sweep = report["sweep"]
    for key, due in (("due_100pct", 300), ("due_1pct", 3)):
        run = sweep[key]
        assert run["clocks"] == 300 and run["due"] == due
        assert run["escalated"] + run["breached"] == due
        assert run["audit_records"] == due
        # One notification per manager per batch: a digest of the batch's escalations.
        assert 1 <= run["notifications"] <= run["escalated"]
        assert run["second_sweep_transitions"] == 0
        assert run["emails_delivered"] == run["notifications"]
        assert run["bare_query_rows"] == due
        assert run["ratio"] > 0 and run["bare_query_seconds"] > 0
        assert run["audit_chain_intact"] is True
    assert "sweep (1% due)" in err.getvalue()
    assert (AuditRecord.objects.count(), Clock.objects.count()) == before
