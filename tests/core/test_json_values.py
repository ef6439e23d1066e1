"""``json_ready`` gives exactly what a JSON round trip gives, whatever the value."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from reachable.core.json_values import json_ready


def _round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


VALUES = [
    "text", "", 0, -7, 2**70, 1.5, True, False, None,
    {"given_name": "Tomek", "date_of_birth": date(2011, 7, 19), "address": {"postcode": "BS1 4DJ"}},
    {"at": datetime(2026, 7, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))},
    {"at": datetime(2026, 1, 1, 9, 30, 0, 15, tzinfo=UTC), "naive": datetime(2026, 1, 1)},
    {"when": time(14, 5)},
    ("a", ("b", 1)), [[], {}, [None]],
    {"n": Decimal("1.10")}, {"id": UUID(int=5)},
    {1: "int key"}, {None: "none key"}, {True: "bool key"},
    {"x": float("nan")}, {"x": float("inf")},
    {"nested": [{"d": date(2020, 2, 29)}, ("t", date(2020, 3, 1))]},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_same_as_a_round_trip(value: Any) -> None:
    expected = _round_trip(value)
    got = json_ready(value)
    # NaN is not equal to itself: compare the JSON text, which is what is stored and hashed.
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert type(got) is type(expected)


def test_a_copy_not_the_value_itself() -> None:
    value = {"related": [{"role": "sibling"}]}
    got = json_ready(value)
    got["related"][0]["role"] = "changed"
    assert value["related"][0]["role"] == "sibling"
