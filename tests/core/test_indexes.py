"""The tables intake writes carry no index another index already serves.

An accepted event writes about thirteen rows (event, audit record, blocking keys, link
decisions, grants, alerts, clocks, new people's rows), and every index on those tables is one
more write per row. An index whose columns begin another index's serves no lookup the longer
one does not, and on PostgreSQL Django's ``varchar_pattern_ops`` twin of a ``db_index`` text
column serves only prefix searches, which nothing makes on these tables (decision 0005).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, models

from reachable.access.models import AccessGrant
from reachable.audit.models import AuditRecord
from reachable.childstate.models import ChildFlag
from reachable.chronology.models import Event, EventRelatedPerson
from reachable.identity.models import BlockingKey, LinkDecision, MatchProfile
from reachable.people.models import Address, Identifier, Person, PersonName, Relationship
from reachable.rules.models import Alert, Clock

INTAKE_TABLES: list[type[models.Model]] = [
    Event, EventRelatedPerson, AuditRecord, BlockingKey, LinkDecision, MatchProfile,
    AccessGrant, Alert, Clock, ChildFlag, Person, PersonName, Identifier, Address, Relationship,
]


def _partial(model: type[models.Model]) -> set[str]:
    """Names of the model's conditional constraints and indexes: they cover only some rows."""
    names = {c.name for c in model._meta.constraints
             if getattr(c, "condition", None) is not None}
    return names | {i.name for i in model._meta.indexes if i.condition is not None}


def _indexes(model: type[models.Model]) -> dict[str, dict[str, Any]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: info for name, info in found.items()
            if (info["index"] or info["unique"] or info["primary_key"]) and info["columns"]}


@pytest.mark.parametrize("model", INTAKE_TABLES, ids=lambda m: m.__name__)
def test_no_index_on_intake_s_tables_is_served_by_another(db: None,
                                                           model: type[models.Model]) -> None:
    indexes = _indexes(model)
    partial = _partial(model)
    redundant = []
    for name, info in indexes.items():
        if info["unique"] or info["primary_key"] or name in partial:
            continue  # a unique or partial index says more than which rows to find
        columns = info["columns"]
        for other, other_info in indexes.items():
            if other == name or other in partial:
                continue
            longer = other_info["columns"]
            if longer[:len(columns)] == columns:  # the same columns, or more after them
                redundant.append(f"{name} {columns} is served by {other} {longer}")
                break
    assert redundant == []


def test_no_pattern_ops_twins_on_intake_s_tables(postgres_only: None) -> None:
    tables = [model._meta.db_table for model in INTAKE_TABLES]
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s) "
                       "AND indexdef LIKE '%%pattern_ops%%'", [tables])
        twins = [row[0] for row in cursor.fetchall()]
    assert twins == []
