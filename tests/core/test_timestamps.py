"""Timestamps read by psycopg's compiled loader give what Django's own loader gives."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader, register_tzloader
from django.db.utils import load_backend
from psycopg.pq import Format

from reachable.core import clock
from reachable.core.timestamps import UtcTimestamptzLoader
from reachable.people.models import Person

TIMESTAMPTZ = 1184
LONDON = ZoneInfo("Europe/London")
SAMPLES = """SELECT v FROM (VALUES
    ('2026-03-29 00:59:59.999999+00'::timestamptz), ('2026-03-29 01:00:00+00'),
    ('2026-10-25 00:30:00.5+00'), ('2026-10-25 01:30:00+01'), ('1900-01-01 00:00:00+00'),
    ('0044-03-15 12:00:00+00'), ('9999-12-31 23:59:59.999999+00'), (NULL)) AS t(v)"""


def _read(sql: str, *, django_loader: bool) -> list[datetime | None]:
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def test_the_compiled_loader_reads_what_djangos_reads(postgres_only: None) -> None:
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    assert loader is UtcTimestamptzLoader
    ours = _read(SAMPLES, django_loader=False)
    theirs = _read(SAMPLES, django_loader=True)
    assert ours == theirs and ours[-1] is None
    assert all(value.tzinfo is UTC for value in ours if value is not None)
    # Not the pure-Python method: the instance's load is the driver's compiled one.
    instance = UtcTimestamptzLoader(TIMESTAMPTZ, connection.connection)
    native = vars(instance)["load"].__self__
    assert type(native).__module__.startswith("psycopg_binary")


def test_model_datetimes_come_back_as_the_same_instant(postgres_only: None) -> None:
    summer = datetime(2026, 7, 1, 9, 30, 15, 250, tzinfo=LONDON)
    person = Person.objects.create(given_name="Ada", family_name="Read", name_key="ada read",
                                   created_at=summer)
    read = Person.objects.get(pk=person.pk).created_at
    assert read == summer and read.tzinfo is UTC
    assert read.utcoffset() == timedelta(0)
    with clock.frozen_at(summer):
        assert Person.objects.filter(created_at=clock.now()).count() == 1


def test_a_connection_in_another_time_zone_keeps_djangos_loader(postgres_only: None) -> None:
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict["TIME_ZONE"] = "Europe/London"
    other = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "london")
    try:
        other.ensure_connection()
        loader = other.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
        assert loader is not UtcTimestamptzLoader and issubclass(loader, BaseTzLoader)
        with other.cursor() as cursor:
            cursor.execute("SELECT '2026-07-01 08:30:00+00'::timestamptz")
            (value,) = cursor.fetchone()
        assert value == datetime(2026, 7, 1, 8, 30, tzinfo=UTC) and value.tzinfo == LONDON
    finally:
        other.close()
