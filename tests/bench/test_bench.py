"""``reachable bench intake``: one JSON object with the figures, measured in a scratch database
so the configured one is left exactly as it was."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from reachable.audit.models import AuditRecord
from reachable.bench.intake import bench_organisation, run_interleaved, run_service
from reachable.bench.synthetic import EventStream, home_of
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.scratch_db import scratch_database
from reachable.people.models import Person
from reachable.rules.models import Alert, Clock
from tests.borough import Borough

FIELDS = {"events", "seconds", "events_per_s", "baseline_rate", "ratio", "vendor", "memory"}


def test_bench_intake_prints_one_json_object_and_leaves_the_database_untouched(
    borough: Borough,
) -> None:
    before = (Event.objects.count(), AuditRecord.objects.count(), Person.objects.count())
    out, err = StringIO(), StringIO()
    call_command("bench", "intake", "--events", "60", stdout=out, stderr=err)
    report = json.loads(out.getvalue())  # exactly one JSON object, nothing else on stdout
    assert set(report) >= FIELDS
    assert report["events"] == 60
    assert report["accepted"] == 60 and report["refused"] == 0
    assert report["events_per_s"] > 0 and report["baseline_rate"] > 0
    assert report["ratio"] == pytest.approx(report["events_per_s"] / report["baseline_rate"],
                                            rel=0.01)
    assert report["vendor"] == connection.vendor
    # The service's own CPU time is part of its wall time; the rest it spent waiting.
    assert 0 < report["service_cpu_seconds"] <= report["seconds"] * 1.05
    assert 0 <= report["service_waiting_share"] < 1
    assert report["ratio_without_waiting"] >= report["ratio"] * 0.95
    assert report["audit_chain_intact"] is True
    assert report["audit_records"] > 60  # one per event, plus the organisation's set-up
    assert 0 < report["people"] < 60  # repeats matched people already in the index
    assert report["alerts"] > 0 and report["clocks"] > 0
    assert report["memory"]["samples"] and report["memory"]["peak_rss_mb"] > 0
    assert "service:" in err.getvalue()  # progress goes to stderr
    after = (Event.objects.count(), AuditRecord.objects.count(), Person.objects.count())
    assert after == before


def _outcomes(*, baseline: bool) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Run 150 events (with or without the interleaved baseline) in a scratch database."""
    with scratch_database():
        now = clock.now()
        stream = EventStream(seed=5, today=now.date(), end=now)
        systems = bench_organisation()
        if baseline:
            run = run_interleaved(stream=stream, events=150, systems=systems,
                                  progress=lambda message: None)
        else:
            run = run_service(stream=stream, events=150, systems=systems,
                              progress=lambda message: None)
        service_events = Event.objects.exclude(source_record__startswith="BASE-")
        figures = {
            "accepted": run["accepted"],
            "people": Person.objects.exclude(pk=run.get("baseline_person")).count(),
            "events": service_events.count(),
            "alerts": Alert.objects.count(),
            "clocks": Clock.objects.count(),
        }
        base = set(Event.objects.filter(source_record__startswith="BASE-")
                   .values_list("person_id", flat=True))
        holders = [(p.full_name, p.pk) for p in Person.objects.filter(pk__in=base)]
        return figures, holders


def test_the_interleaved_baseline_leaves_the_service_s_outcome_as_it_was(db: None) -> None:
    """The baseline's rows go into the same tables between the service's transactions; on
    a person of their own, so identity and the rules give the same answers as without them."""
    alone, no_holders = _outcomes(baseline=False)
    interleaved, holders = _outcomes(baseline=True)
    assert alone == interleaved and alone["accepted"] == alone["events"] == 150
    assert no_holders == [] and len(holders) == 1 and holders[0][0] == ""


def test_event_stream_is_deterministic_and_repeats_people() -> None:
    now = clock.now()
    one = EventStream(seed=3, today=now.date(), end=now)
    two = EventStream(seed=3, today=now.date(), end=now)
    assert list(one.stream(50)) == list(two.stream(50))
    assert one.payload(7) == one.payload(7)
    people = [(p["subject"]["given_name"], p["subject"]["date_of_birth"])
              for p in one.stream(200)]
    assert len(set(people)) < len(people)
    kinds = {p["type"] for p in one.stream(400)}
    assert {"custody.booked", "ed.attended", "contact.received",
            "relationship.recorded"} <= kinds
    assert any(t.startswith("school.") for t in kinds)


def test_a_house_number_and_street_name_one_home_in_its_district() -> None:
    """As in a real borough, so that the address blocking key holds a household, not a
    growing share of the stream; siblings (two people a home) share theirs."""
    homes: dict[tuple[str, str], int] = {}
    for key in range(0, 60_000):
        postcode, line = home_of(key)
        district = postcode.split()[0]
        assert homes.setdefault((district, line), key // 2) == key // 2, (district, line)
    assert home_of(0) == home_of(1)
    assert len(homes) == 30_000
