from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.borough import Borough, build_borough


@pytest.fixture
def borough(db: None) -> Borough:
    return build_borough()


@pytest.fixture
def postgres_only(db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: set DATABASE_URL to a reachable PostgreSQL "
            f"(now {os.environ.get('DATABASE_URL', 'unset: embedded SQLite')})"
        )
