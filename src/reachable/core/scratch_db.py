"""A throwaway database for commands that must not touch the configured one.

Scenario replays need a fresh, isolated database; benchmarks write hundreds of thousands of
rows (and audit records, which PostgreSQL will never let anyone delete). Both run inside
``scratch_database()``: a temporary SQLite file, or a temporary PostgreSQL database on the same
server when the configured database is PostgreSQL, migrated, used, and dropped afterwards.

Migrating takes over a second, and a replay of many scenarios wants a fresh database for each,
so the first scratch database of a process is migrated once into a *template* that later ones
copy (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL). The template
belongs to the process and is removed when it exits.

The connection is swapped, not mutated: ``connections[alias]`` points at a new connection for
the block and the original one (which may hold an in-memory test database, or an open
transaction) is put back untouched afterwards.
"""

from __future__ import annotations

import atexit
import copy
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

# (vendor, server) -> template database name (PostgreSQL) or file path (SQLite)
_templates: dict[tuple[str, ...], str] = {}


def _wrapper(settings_dict: dict[str, Any], alias: str) -> BaseDatabaseWrapper:
    backend = load_backend(settings_dict["ENGINE"])
    wrapper: BaseDatabaseWrapper = backend.DatabaseWrapper(settings_dict, alias)
    return wrapper


@contextmanager
def _pointed_at(alias: str, name: str) -> Iterator[BaseDatabaseWrapper]:
    """Swap ``connections[alias]`` (and its settings, for new threads) to database ``name``."""
    original = connections[alias]
    original_settings = connections.settings[alias]
    settings_dict = copy.deepcopy(original.settings_dict)
    settings_dict["NAME"] = name
    scratch = _wrapper(settings_dict, alias)
    connections[alias] = scratch
    connections.settings[alias] = settings_dict
    ContentType.objects.clear_cache()
    try:
        yield scratch
    finally:
        scratch.close()
        connections[alias] = original
        connections.settings[alias] = original_settings
        ContentType.objects.clear_cache()


def _postgres_execute(conn: BaseDatabaseWrapper, sql: str) -> None:
    with conn._nodb_cursor() as cursor:
        cursor.execute(sql)


def _server_key(conn: BaseDatabaseWrapper) -> tuple[str, ...]:
    s = conn.settings_dict
    return (conn.vendor, str(s.get("HOST")), str(s.get("PORT")), str(s.get("USER")))


def _template(alias: str) -> str:
    """The migrated template for this alias's server, built on first use."""
    conn = connections[alias]
    key = _server_key(conn)
    if key in _templates:
        return _templates[key]
    if conn.vendor == "postgresql":
        name = f"reachable_template_{uuid.uuid4().hex[:12]}"
        _postgres_execute(conn, f'CREATE DATABASE "{name}"')
        settings_dict = copy.deepcopy(conn.settings_dict)

        def _drop_template() -> None:
            _postgres_execute(_wrapper(settings_dict, alias),
                              f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        atexit.register(_drop_template)
        with _pointed_at(alias, name):
            call_command("migrate", verbosity=0, database=alias)
    else:
        directory = tempfile.mkdtemp(prefix="reachable-template-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        name = str(Path(directory) / "template.sqlite3")
        with _pointed_at(alias, name) as scratch:
            call_command("migrate", verbosity=0, database=alias)
            with scratch.cursor() as cursor:  # fold the write-ahead log into the file we copy
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _templates[key] = name
    return name


@contextmanager
def scratch_database(alias: str = "default") -> Iterator[str]:
    """Point ``alias`` at a new, migrated database for the duration of the block."""
    conn = connections[alias]
    vendor = conn.vendor
    template = _template(alias)
    cleanup_dir: tempfile.TemporaryDirectory[str] | None = None
    if vendor == "postgresql":
        name = f"reachable_scratch_{uuid.uuid4().hex[:12]}"
        _postgres_execute(conn, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    else:
        cleanup_dir = tempfile.TemporaryDirectory(prefix="reachable-scratch-")
        name = str(Path(cleanup_dir.name) / "scratch.sqlite3")
        shutil.copyfile(template, name)
    try:
        with _pointed_at(alias, name):
            yield name
    finally:
        if vendor == "postgresql":
            _postgres_execute(conn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if cleanup_dir is not None:
            cleanup_dir.cleanup()
