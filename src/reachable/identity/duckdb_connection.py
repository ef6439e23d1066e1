"""The one way linkage opens a DuckDB connection: bounded threads and memory.

DuckDB's default memory limit is 80 % of the machine's RAM. Linking or benchmarking a
million records must not take the host (and the application database beside it) down with
it, so every connection gets ``LINKAGE_DUCKDB_MEMORY`` (default 4 GB) and spills to a
temporary directory beyond that, and ``LINKAGE_DUCKDB_THREADS`` (default 2) threads. The spill
itself is bounded by ``LINKAGE_DUCKDB_SPILL`` (default 20 GB): a query that needs more fails
with DuckDB's out-of-memory error instead of filling the disk (an unbounded baseline once did).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
from django.conf import settings

DEFAULT_MEMORY = "4GB"
DEFAULT_THREADS = 2
DEFAULT_SPILL = "20GB"


def duckdb_connect(*, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A bounded connection; ``threads`` overrides the setting (training asks for one)."""
    con = duckdb.connect()
    memory = str(getattr(settings, "LINKAGE_DUCKDB_MEMORY", DEFAULT_MEMORY))
    if threads is None:
        threads = int(getattr(settings, "LINKAGE_DUCKDB_THREADS", DEFAULT_THREADS))
    spill_limit = str(getattr(settings, "LINKAGE_DUCKDB_SPILL", DEFAULT_SPILL))
    spill = Path(tempfile.gettempdir()) / "reachable-duckdb"
    con.execute(f"SET threads TO {threads}")
    con.execute("SET memory_limit = ?", [memory])
    con.execute("SET temp_directory = ?", [str(spill)])
    con.execute("SET max_temp_directory_size = ?", [spill_limit])
    return con
