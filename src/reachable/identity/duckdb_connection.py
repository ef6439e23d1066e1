"""The one way linkage opens a DuckDB connection: bounded threads and memory.

DuckDB's default memory limit is 80 % of the machine's RAM. Linking or benchmarking a
million records must not take the host (and the application database beside it) down with
it, so every connection gets ``LINKAGE_DUCKDB_MEMORY`` (default 4 GB) and spills to a
temporary directory beyond that, and ``LINKAGE_DUCKDB_THREADS`` (default 2) threads.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
from django.conf import settings

DEFAULT_MEMORY = "4GB"
DEFAULT_THREADS = 2


def duckdb_connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    memory = str(getattr(settings, "LINKAGE_DUCKDB_MEMORY", DEFAULT_MEMORY))
    threads = int(getattr(settings, "LINKAGE_DUCKDB_THREADS", DEFAULT_THREADS))
    spill = Path(tempfile.gettempdir()) / "reachable-duckdb"
    con.execute(f"SET threads TO {threads}")
    con.execute("SET memory_limit = ?", [memory])
    con.execute("SET temp_directory = ?", [str(spill)])
    return con
