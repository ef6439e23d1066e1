"""The plain reader answers exactly as the serializers do, or stands aside.

``plain_envelope`` is only allowed two answers: the very ``ValidEnvelope`` the serializers
return (same values, same types, same key order), or ``None``. It must never accept what the
serializers refuse. These tests hold it to that over every event type in the vocabulary, the
benchmark's stream, and many deliberately broken or oddly shaped variants of both.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from datetime import date, datetime
from typing import Any

import pytest

from reachable.bench.synthetic import EventStream
from reachable.core import clock
from reachable.core.errors import ValidationFailed
from reachable.intake.plain_envelopes import plain_envelope
from reachable.intake.schemas import ValidEnvelope, serializer_envelope, validate_envelope
from reachable.intake.vocabulary import EVENT_TYPES, EventType, F

SUBJECT = {"given_name": "Tomek", "family_name": "Nowak", "date_of_birth": "2011-07-19",
           "sex": "M", "nhs_number": "943 476 5919", "upn": "x801200000001",
           "pnc_id": "11/123456a", "local_child_id": "LC-1",
           "address": {"line": "1 High Street", "postcode": "sw1a 1aa"}}


def _value(spec: F) -> Any:
    return {
        "text": "some words", "longtext": "a longer account", "postcode": "sw1a1aa",
        "choice": spec.choices[0] if spec.choices else "", "bool": True,
        "date": "2024-01-02", "datetime": "2024-01-02T10:00:00Z", "int": 3,
        "list": [spec.choices[-1]] if spec.choices else ["an indicator"],
        "actions": [{"description": "Visit", "owner": "csc", "due": "2024-02-01"}],
    }[spec.kind]


def _payload(event_type: EventType, *, every_field: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": event_type.name, "occurred_at": "2024-03-01T09:30:00+00:00",
        "source": {"agency": "met-police", "record": f"R-{event_type.name}"},
        "subject": copy.deepcopy(SUBJECT),
        "data": {f.name: _value(f) for f in event_type.fields if every_field or f.required},
    }
    if event_type.requires_related or every_field:
        payload["related"] = [{"given_name": "Ann", "family_name": "Nowak",
                               "postcode": "SW1A 1AA", "role": "related"}]
    return payload


def _ordered(value: Any) -> Any:
    """Values with their types and dicts with their key order, so both must match."""
    if isinstance(value, dict):
        return [(key, _ordered(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), str(value.tzinfo))
    if isinstance(value, date):
        return ("date", value.isoformat())
    return (type(value).__name__, value)


def _flat(envelope: ValidEnvelope) -> Any:
    return _ordered(vars(envelope))


def _serializers(payload: Any) -> ValidEnvelope | None:
    try:
        return serializer_envelope(payload)
    except ValidationFailed:
        return None


def _held_to_serializers(payload: Any) -> str:
    """Check one payload; say whether the plain reader read it or stood aside."""
    plain = plain_envelope(copy.deepcopy(payload))
    expected = _serializers(copy.deepcopy(payload))
    if plain is None:
        return "aside"
    assert expected is not None, f"plain reader accepted what the serializers refuse: {payload}"
    assert _flat(plain) == _flat(expected), payload
    return "read"


@pytest.mark.parametrize("every_field", [False, True], ids=["required", "every-field"])
@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_event_type_is_read_plainly_as_the_serializers_read_it(type_name: str,
                                                                     every_field: bool) -> None:
    payload = _payload(EVENT_TYPES[type_name], every_field=every_field)
    assert _held_to_serializers(payload) == "read"
    # and what the service uses is that same answer
    assert _flat(validate_envelope(payload)) == _flat(serializer_envelope(payload))


def test_the_benchmark_stream_is_read_plainly() -> None:
    now = clock.now()
    stream = EventStream(seed=7, today=now.date(), end=now)
    outcomes = Counter(_held_to_serializers(p) for p in stream.stream(400))
    assert outcomes == {"read": 400}


ODD_VALUES: list[Any] = [
    None, "", "   ", "  padded  ", 0, -1, 7, 2.5, True, False, [], {}, ["x"], {"a": 1},
    "2011-02-30", "2011-7-19", "20110719", "2999-01-01", "2024-01-02T10:00:00",
    "2024-01-02T10:00:00+01:00", "2999-01-01T00:00:00Z", "true", "1", "5", "x" * 301,
    # time stamps at the edges of what ``fromisoformat`` and the serializers' field read
    "2024-01-02 10:00:00+00:00", "2024-01-02T10:00:00.123456789+00:00", "2024-01-02T10:00+0100",
    "20240102T100000Z", " 2024-01-02T10:00:00Z", "2024-01-02T10:00:00Z ", "2024-01-02T10Z",
    "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00", "2024-03-31T01:30:00+00:00",
    "2024-10-27T01:30:00+01:00", "2024-01-02T10:00:00,5Z", "2024-01-02T24:00:00Z",
    "x" * 10_001, "nul\x00char", "surrogate\ud800", "Zoë", "sw1a 1aa", "NOT A POSTCODE",
    "943 476 5919", "9434765918", "x801200000001", "11/123456a", "red", "met-police",
    "has space", "M", "related", "co_arrested", "mother",
    ["an indicator"] * 51, [{"given_name": "Ann"}] * 21,  # one item over a list's limit
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a payload a value can be replaced, removed or added beside."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutated(payload: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    path = rng.choice(_paths(payload)[1:])
    parent = payload
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        del parent[last]
    elif action < 0.25 and isinstance(parent, dict):
        parent[rng.choice(["unexpected", "postcode", "role", "date_of_birth", "related"])] = (
            rng.choice(ODD_VALUES))
    else:
        parent[last] = copy.deepcopy(rng.choice(ODD_VALUES))
    return payload


def _replaced(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    parent = payload
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = copy.deepcopy(value)
    return payload


def test_every_odd_value_in_every_place_is_never_read_differently() -> None:
    """Each odd value in turn at every field of every type's data, and of the envelope."""
    outcomes: Counter[str] = Counter()
    for number, event_type in enumerate(EVENT_TYPES.values()):
        payload = _payload(event_type, every_field=True)
        places = [path for path in _paths(payload) if path[:1] == ("data",)]
        if number == 0:  # the envelope's own fields are the same for every type
            places = _paths(payload)[1:]
        for path in places:
            for value in ODD_VALUES:
                outcomes[_held_to_serializers(_replaced(payload, path, value))] += 1
    assert outcomes["read"] > 500 and outcomes["aside"] > 5000, outcomes


def test_broken_and_odd_payloads_are_never_read_differently() -> None:
    rng = random.Random(20261124)
    now = clock.now()
    bases = [_payload(t, every_field=True) for t in EVENT_TYPES.values()]
    bases += list(EventStream(seed=11, today=now.date(), end=now).stream(60))
    outcomes: Counter[str] = Counter()
    for _ in range(4000):
        payload = rng.choice(bases)
        for _ in range(rng.choice([1, 1, 2, 3])):
            payload = _mutated(payload, rng)
        outcomes[_held_to_serializers(payload)] += 1
    # Both answers must really occur, or the test would prove nothing about either.
    assert outcomes["read"] > 400 and outcomes["aside"] > 1000, outcomes


def test_not_a_payload_at_all_goes_to_the_serializers_for_its_error() -> None:
    not_payloads: list[Any] = [None, [], "custody.booked", 7]
    for payload in not_payloads:
        assert plain_envelope(payload) is None
        with pytest.raises(ValidationFailed):
            validate_envelope(payload)
