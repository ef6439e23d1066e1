"""Table statistics kept current during long imports.

PostgreSQL plans every read from what it knows of the tables: how many rows, how many distinct
values a column holds. An import into a young database grows its tables many times over; if
the statistics still describe the tables as they were, or were never gathered (autovacuum
turned off, or not yet round to this database), the planner answers "this blocking key's
profiles" or "these people's names" by reading the whole table, and every batch is slower
than the one before. Measured: 100,000 benchmark events into a new database on a server with
autovacuum off went from 950 events/s over the first 20,000 to 550 over the last; a batch's
blocking-key read took 19 ms at 60,000 events, by a scan of every key, where an index read
takes about 1 ms.

``statistics_refresh`` runs ``ANALYZE`` on each table whose rows changed since it was last
analysed number more than ``MIN_CHANGED`` and ``GROWTH`` times its rows: so a growing table
is analysed a handful of times on its way from empty to millions (each time it has grown by
half), and what the planner needs from the statistics (the table's size, how many distinct
keys a column holds) is never far from the truth. Autovacuum's own rule (50 rows and a tenth)
analysed 15 tables eight times each in the first 10,000 events, a tenth of the run. The
samples are small (``SAMPLE_TARGET``, a tenth of PostgreSQL's default): enough to tell an
index read from a table scan, at a tenth of the cost; autovacuum, where it runs, replaces them
with fuller statistics in its own time. The long imports (``intake.files``, and the intake
benchmark that stands for it) call this between batches, outside their transactions. SQLite's
planner takes an index without statistics, so there it does nothing.
"""

from __future__ import annotations

from django.db import connection, transaction

MIN_CHANGED = 1000  # rows changed before a table is worth analysing at all
GROWTH = 0.5  # ... and this share of its rows
SAMPLE_TARGET = 10  # default_statistics_target for these analyses (PostgreSQL's is 100)

_DUE = """
    SELECT stats.relname
    FROM pg_stat_user_tables stats JOIN pg_class class ON class.oid = stats.relid
    WHERE stats.n_mod_since_analyze > %s + %s * GREATEST(class.reltuples, 0)
    ORDER BY stats.relname
"""


def statistics_refresh() -> list[str]:
    """``ANALYZE`` the tables that have changed enough since they were last analysed; returns
    their names (none on SQLite). Counts reach the server's statistics a moment after each
    commit, so a table may be picked one call later than it could be."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(_DUE, [MIN_CHANGED, GROWTH])
        tables = [row[0] for row in cursor.fetchall()]
        if not tables:
            return []
        with transaction.atomic():  # the sample size holds for these analyses only
            cursor.execute(f"SET LOCAL default_statistics_target = {int(SAMPLE_TARGET)}")
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
            # Within a caller's transaction, SET LOCAL would last until it ends.
            cursor.execute("SET LOCAL default_statistics_target TO DEFAULT")
    return tables
