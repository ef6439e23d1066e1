"""``reachable demo`` on a small borough: deterministic, printed logins, live golden-hour
clocks near "now", an intact audit chain, and no duplication when run again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from reachable.audit.verify import ChainReport, verify_chain
from reachable.chronology.models import Event
from reachable.core.scratch_db import scratch_database
from reachable.demo.generator import demo_counts, demo_generate
from reachable.demo.organisation import DEMO_PASSWORD, STAFF
from reachable.organisations.models import Role, User
from reachable.rules.models import Alert, Clock, ClockStatus

NOW = datetime(2025, 3, 6, 12, 0, tzinfo=UTC)


@dataclass
class DemoRun:
    output: str
    counts: dict[str, int]
    rerun_output: str
    rerun_counts: dict[str, int]
    chain: ChainReport
    golden_hour_alerts: int
    open_clock_minutes_left: list[float]
    password_ok: bool
    distinct_hashes: int
    professionals: int


@pytest.fixture(scope="module")
def demo_run(django_db_blocker: Any) -> DemoRun:
    with django_db_blocker.unblock(), scratch_database():
        out, err = StringIO(), StringIO()
        call_command("demo", "--children", "30", "--seed", "7", stdout=out, stderr=err)
        counts = demo_counts()
        now = datetime.now(UTC)
        open_left = [(c.deadline - now).total_seconds() / 60 for c in
                     Clock.objects.filter(status=ClockStatus.OPEN, rule_id="golden-hour")]
        staff = User.objects.exclude(role=Role.AGENCY_SYSTEM)
        first = staff.order_by("username").first()
        assert first is not None
        run = DemoRun(
            output=out.getvalue(), counts=counts, rerun_output="", rerun_counts={},
            chain=verify_chain(), golden_hour_alerts=Alert.objects.filter(
                rule_id="golden-hour").count(),
            open_clock_minutes_left=open_left, password_ok=first.check_password(DEMO_PASSWORD),
            distinct_hashes=len(set(staff.values_list("password", flat=True))),
            professionals=staff.count(),
        )
        again = StringIO()
        call_command("demo", "--children", "30", "--seed", "7", stdout=again, stderr=StringIO())
        run.rerun_output = again.getvalue()
        run.rerun_counts = demo_counts()
    return run


def _events(seed: int) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    demo_generate(children=30, seed=seed, now=NOW)
    events = [(e.type, e.source_record, e.person.full_name)
              for e in Event.objects.select_related("person").order_by("id")]
    return demo_counts(), events


def test_same_seed_gives_the_same_borough_and_another_seed_does_not(
    django_db_blocker: Any,
) -> None:
    with django_db_blocker.unblock():
        with scratch_database():
            first = _events(7)
        with scratch_database():
            second = _events(7)
        with scratch_database():
            other = _events(8)
    assert first == second
    assert len(first[1]) > 30
    assert other[1] != first[1]


def test_one_login_per_role_with_the_password_token_and_curl(demo_run: DemoRun) -> None:
    out = demo_run.output
    assert "Synthetic borough generated (seed 7, 30 children)" in out
    assert f"every password: {DEMO_PASSWORD}" in out
    for role in Role:
        assert sum(line.startswith(f"  {role.label} ") for line in out.splitlines()) == 1, role
    assert "rch_" in out
    assert "curl -sS -X POST http://127.0.0.1:8000/api/v1/events" in out


def test_professionals_sign_in_with_their_own_salted_hash(demo_run: DemoRun) -> None:
    assert demo_run.professionals == sum(count for _, _, count in STAFF)
    assert demo_run.password_ok
    assert demo_run.distinct_hashes == demo_run.professionals


def test_custody_bookings_raise_golden_hour_alerts_with_clocks_still_running_now(
    demo_run: DemoRun,
) -> None:
    counts = demo_run.counts
    assert counts["custody_bookings"] >= 4
    # Every demo custody booking is of a child (10-17), so each raised the golden-hour alert.
    assert demo_run.golden_hour_alerts == counts["custody_bookings"]
    # The story ends with children booked in the last hour: live countdowns in the MASH queue.
    live = [m for m in demo_run.open_clock_minutes_left if 0 < m <= 60]
    assert len(live) >= 3
    assert counts["clocks_open"] >= len(live)


def test_audit_chain_verifies_after_generation(demo_run: DemoRun) -> None:
    assert demo_run.chain.intact, demo_run.chain
    assert demo_run.chain.records > demo_run.counts["events"]


def test_running_again_adds_nothing_and_says_so(demo_run: DemoRun) -> None:
    assert "already exists" in demo_run.rerun_output
    assert "rch_" in demo_run.rerun_output  # a fresh token, since keys are shown once
    assert demo_run.rerun_counts == demo_run.counts


def test_children_count_matches_the_request(demo_run: DemoRun) -> None:
    assert demo_run.counts["children"] == 30
    assert demo_run.counts["adults"] > 0
    assert demo_run.counts["events"] > 30


def test_no_open_clock_is_overdue_after_the_final_sweep(demo_run: DemoRun) -> None:
    assert demo_run.open_clock_minutes_left
    assert all(m > -5 for m in demo_run.open_clock_minutes_left)
