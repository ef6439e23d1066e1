"""Table statistics kept current during long imports, by autovacuum's own rule.

PostgreSQL plans every read from what it knows of the tables: how many rows, how many distinct
values a column holds. An import into a young database grows its tables many times over; if
the statistics still describe the tables as they were, or were never gathered (autovacuum
turned off, or not yet round to this database), the planner answers "this blocking key's
profiles" or "these people's names" by reading the whole table, and every batch is slower
than the one before. Measured: 100,000 benchmark events into a new database on a server with
autovacuum off went from 950 events/s over the first 20,000 to 550 over the last; a batch's
blocking-key read took 19 ms at 60,000 events, by a scan of every key, where an index read
takes about 1 ms.

``statistics_refresh`` applies the rule autovacuum applies (a table is analysed once the rows
changed since its last analysis exceed ``autovacuum_analyze_threshold`` plus
``autovacuum_analyze_scale_factor`` times its rows, both read from the server's settings) and
runs ``ANALYZE`` on the tables it picks. The long imports (``intake.files``, and the intake
benchmark that stands for it) call it between batches, outside their transactions; where
autovacuum runs and keeps up, it finds nothing to do. SQLite's planner takes an index without
statistics, so there it does nothing.
"""

from __future__ import annotations

from django.db import connection

_DUE = """
    SELECT stats.relname
    FROM pg_stat_user_tables stats JOIN pg_class class ON class.oid = stats.relid
    WHERE stats.n_mod_since_analyze >
          current_setting('autovacuum_analyze_threshold')::float8
          + current_setting('autovacuum_analyze_scale_factor')::float8
            * GREATEST(class.reltuples, 0)
    ORDER BY stats.relname
"""


def statistics_refresh() -> list[str]:
    """``ANALYZE`` the tables that have changed enough since they were last analysed; returns
    their names (none on SQLite). Counts reach the server's statistics a moment after each
    commit, so a table may be picked one call later than it could be."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(_DUE)
        tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return tables
