"""How Reachable's PostgreSQL connections are set up."""

from __future__ import annotations

from django.db import connection


def test_statements_are_not_compiled_before_they_run(postgres_only: None) -> None:
    """JIT off: an unanalysed table made short probes look costly enough to compile first."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
