"""Every linkage DuckDB connection is bounded: memory, threads and the spill on disk."""

from __future__ import annotations

from django.test import override_settings

from reachable.identity.duckdb_connection import duckdb_connect


def _setting(con: object, name: str) -> str:
    return str(con.execute("SELECT current_setting(?)", [name]).fetchone()[0])  # type: ignore[attr-defined]


def test_defaults_bound_memory_threads_and_spill() -> None:
    con = duckdb_connect()
    assert _setting(con, "threads") == "2"
    assert _setting(con, "memory_limit") == "3.7 GiB"  # 4 GB, as DuckDB prints it
    assert _setting(con, "max_temp_directory_size") == "18.6 GiB"  # 20 GB
    assert _setting(con, "temp_directory").endswith("reachable-duckdb")


@override_settings(LINKAGE_DUCKDB_MEMORY="1GB", LINKAGE_DUCKDB_THREADS=1,
                   LINKAGE_DUCKDB_SPILL="2GB")
def test_settings_change_the_bounds() -> None:
    con = duckdb_connect()
    assert _setting(con, "threads") == "1"
    assert _setting(con, "memory_limit") == "953.6 MiB"
    assert _setting(con, "max_temp_directory_size") == "1.8 GiB"
