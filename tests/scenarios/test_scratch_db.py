"""Scratch databases: migrated, isolated from each other and from the test database, and gone
afterwards (SQLite file removed, PostgreSQL database dropped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import connection, connections

from reachable.core.scratch_db import scratch_database
from reachable.organisations.models import Agency


def _exists(name: str, original: Any) -> bool:
    if original.vendor == "postgresql":
        with original._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None
    return Path(name).exists()


def test_each_scratch_database_is_fresh_and_dropped(django_db_blocker: Any) -> None:
    original = connections["default"]
    names = []
    with django_db_blocker.unblock():
        for code in ("first", "second"):
            with scratch_database() as name:
                assert connections["default"] is not original
                assert connection.settings_dict["NAME"] == name
                assert Agency.objects.count() == 0  # migrated, and nothing from the last one
                Agency.objects.create(code=code, name=code, kind="csc")
                assert list(Agency.objects.values_list("code", flat=True)) == [code]
            names.append(name)
        assert connections["default"] is original
        assert names[0] != names[1]
        assert not any(_exists(name, original) for name in names)
