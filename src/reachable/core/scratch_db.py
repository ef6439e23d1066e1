"""A throwaway database for commands that must not touch the configured one.

Scenario replays need a fresh, isolated database; benchmarks write hundreds of thousands of
rows (and audit records, which PostgreSQL will never let anyone delete). Both run inside
``scratch_database()``: a temporary SQLite file, or a temporary PostgreSQL database on the same
server when the configured database is PostgreSQL, migrated, used, and dropped afterwards.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.management import call_command
from django.db import connections


@contextmanager
def scratch_database(alias: str = "default") -> Iterator[str]:
    """Point ``alias`` at a new, migrated database for the duration of the block."""
    conn = connections[alias]
    conn.close()
    original = dict(conn.settings_dict)
    vendor = conn.vendor
    cleanup_dir: tempfile.TemporaryDirectory[str] | None = None
    if vendor == "postgresql":
        name = f"reachable_scratch_{uuid.uuid4().hex[:12]}"
        with conn._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    else:
        cleanup_dir = tempfile.TemporaryDirectory(prefix="reachable-scratch-")
        name = str(Path(cleanup_dir.name) / "scratch.sqlite3")
    conn.settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0, database=alias)
        yield name
    finally:
        conn.close()
        conn.settings_dict.clear()
        conn.settings_dict.update(original)
        if vendor == "postgresql":
            with conn._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if cleanup_dir is not None:
            cleanup_dir.cleanup()
