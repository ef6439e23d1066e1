"""Table statistics refreshed during long imports (``core.statistics``)."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from reachable.core import clock
from reachable.core.statistics import MIN_CHANGED, SAMPLE_TARGET, statistics_refresh
from reachable.people.models import Person


def _last_analysed(table: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s",
                       [table])
        return cursor.fetchone()[0]


def _due_within(seconds: float, table: str = "people_person") -> list[str]:
    """Counts reach the server's statistics a moment after a commit: ask until ``table``'s
    have (other tables may fall due first)."""
    deadline = time.monotonic() + seconds
    while True:
        tables = statistics_refresh()
        if table in tables or time.monotonic() > deadline:
            return tables
        time.sleep(0.2)


def test_tables_grown_past_the_threshold_are_analysed_once(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        assert statistics_refresh() == []  # SQLite plans by its indexes without statistics
        return
    statistics_refresh()  # whatever setting up the database left due
    now = clock.now()
    Person.objects.bulk_create(
        Person(given_name=f"Stat{n}", family_name="Grown", name_key=f"stat{n} grown",
               created_at=now) for n in range(MIN_CHANGED + 20))
    assert "people_person" in _due_within(10)
    assert _last_analysed("people_person") is not None
    with connection.cursor() as cursor:  # the sample size was for those analyses only
        cursor.execute("SHOW default_statistics_target")
        assert cursor.fetchone()[0] != str(SAMPLE_TARGET)
    # Analysed, so no longer due until it changes again.
    assert "people_person" not in statistics_refresh()


def test_a_small_change_to_an_analysed_table_is_left_alone(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL statistics")
    now = clock.now()
    Person.objects.bulk_create(
        Person(given_name=f"Big{n}", family_name="Table", name_key=f"big{n} table",
               created_at=now) for n in range(4 * MIN_CHANGED))
    assert "people_person" in _due_within(10)  # counted, then analysed
    # More than autovacuum's rule would wait for (a tenth), less than this one's (a half).
    Person.objects.bulk_create(
        Person(given_name=f"More{n}", family_name="Table", name_key=f"more{n} table",
               created_at=now) for n in range(MIN_CHANGED + 1))
    deadline = time.monotonic() + 10
    while (_modified_since_analysis("people_person") < MIN_CHANGED + 1
           and time.monotonic() < deadline):
        time.sleep(0.2)
    assert _modified_since_analysis("people_person") == MIN_CHANGED + 1  # counted
    assert "people_person" not in statistics_refresh()


def _modified_since_analysis(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = %s",
                       [table])
        count: int = cursor.fetchone()[0]
        return count
