"""Reading an envelope that is plainly valid, without the serializers' machinery.

Almost every event an agency system sends is valid and plainly shaped: strings where strings
are expected, ISO dates, real booleans. For those, building DRF's nested validated data was
the largest single cost of accepting an event. ``plain_envelope`` reads such a payload straight
from the vocabulary (``EVENT_TYPES``) and returns exactly the ``ValidEnvelope`` the serializers
would: the same stripped strings, normalised identifiers and postcodes, time zones, defaults
and key order.

It never refuses anything. Whatever it is not sure of (a wrong type, an unknown field, a blank
that must not be blank, a value DRF would coerce, a field kind it does not know) makes it
answer ``None``, and the serializers in ``schemas`` then decide and word the errors. So the
serializers stay the one authority on what is valid and what the OpenAPI document says; this
only spares them the events they would accept. ``tests/intake/test_plain_envelopes.py`` holds
the two to the same answers over generated and deliberately broken payloads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from rest_framework import serializers

from reachable.core import clock
from reachable.intake.schemas import FUTURE_TOLERANCE, AwareDateTimeField, ValidEnvelope
from reachable.intake.vocabulary import EVENT_TYPES, RELATED_ROLES, F
from reachable.people.validators import (
    normalise_nhs_number,
    normalise_pnc_id,
    normalise_postcode,
    normalise_upn,
)


class _NotPlain(Exception):
    """This payload is not plainly valid: let the serializers decide."""


_SURROGATE = re.compile("[\ud800-\udfff]")
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _text(value: Any, max_length: int, *, blank: bool = False) -> str:
    """As a DRF ``CharField`` given a string: stripped, not blank unless allowed, not too
    long, no NUL or surrogate characters."""
    if type(value) is not str:
        raise _NotPlain
    value = value.strip()
    if not value:
        if blank:
            return ""
        raise _NotPlain
    if (len(value) > max_length or "\x00" in value
            or (not value.isascii() and _SURROGATE.search(value))):
        raise _NotPlain
    return value


def _normalised(normalise: Callable[[str], str], value: str) -> str:
    try:
        return normalise(value)
    except ValueError:
        raise _NotPlain from None


def _date(value: Any) -> date:
    if type(value) is not str or not _ISO_DATE.fullmatch(value):
        raise _NotPlain
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _NotPlain from None


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if type(value) is not str or value not in choices:
        raise _NotPlain
    return value


_TIMESTAMP = AwareDateTimeField()  # the serializers' own field: same parsing, same zone


def _timestamp(value: Any) -> datetime:
    """Parsed and put in the current time zone by the serializers' own field, as they do."""
    if type(value) is not str:
        raise _NotPlain
    try:
        parsed: datetime = _TIMESTAMP.to_internal_value(value)
    except serializers.ValidationError:
        raise _NotPlain from None
    return parsed


def _address(value: Any) -> dict[str, Any]:
    if type(value) is not dict or "postcode" not in value:
        raise _NotPlain
    address: dict[str, Any] = {}
    if "line" in value:
        address["line"] = _text(value["line"], 300, blank=True)
    address["postcode"] = _normalised(normalise_postcode, _text(value["postcode"], 10))
    return address


_IDENTIFIERS: tuple[tuple[str, int, Callable[[str], str] | None], ...] = (
    ("nhs_number", 14, normalise_nhs_number),
    ("upn", 13, normalise_upn),
    ("pnc_id", 20, normalise_pnc_id),
    ("local_child_id", 40, None),
)


def _person(value: Any, *, related: bool) -> dict[str, Any]:
    """A subject (or a related person, with its role), fields in the serializer's order."""
    if type(value) is not dict:
        raise _NotPlain
    person: dict[str, Any] = {}
    for name in ("given_name", "family_name"):
        if name in value:
            person[name] = _text(value[name], 100, blank=True)
    if "date_of_birth" in value:
        dob = value["date_of_birth"]
        if dob is not None:
            dob = _date(dob)
            if dob > clock.now().date():
                raise _NotPlain
        person["date_of_birth"] = dob
    if "sex" in value:
        person["sex"] = _choice(value["sex"], ("M", "F", "U"))
    for name, max_length, normalise in _IDENTIFIERS:
        if name in value:
            text = _text(value[name], max_length)
            person[name] = text if normalise is None else _normalised(normalise, text)
    if "address" in value:
        person["address"] = _address(value["address"])
    shorthand = None
    if "postcode" in value:
        shorthand = _normalised(normalise_postcode, _text(value["postcode"], 10))
    if related:
        person["role"] = _choice(value["role"], RELATED_ROLES) if "role" in value else "related"
    if shorthand is not None:
        person.setdefault("address", {"postcode": shorthand, "line": ""})
    named = person.get("given_name") or person.get("family_name")
    identified = any(person.get(name) for name, _, _ in _IDENTIFIERS)
    if not named and not identified:
        raise _NotPlain
    return person


def _action(value: Any) -> dict[str, Any]:
    if type(value) is not dict or not {"description", "owner", "due"} <= value.keys():
        raise _NotPlain
    return {"description": _text(value["description"], 500),
            "owner": _text(value["owner"], 100),
            "due": _date(value["due"]).isoformat()}


def _field_value(spec: F, value: Any) -> Any:
    """One ``data`` field as its serializer field (``schemas._field_for``) would leave it,
    already in the stored, JSON-ready form."""
    kind = spec.kind
    if kind == "text":
        return _text(value, 300, blank=not spec.required)
    if kind == "longtext":
        return _text(value, 10_000, blank=not spec.required)
    if kind == "postcode":  # checked, not rewritten: the field's validator only validates
        text = _text(value, 10)
        _normalised(normalise_postcode, text)
        return text
    if kind == "choice":
        return _choice(value, spec.choices)
    if kind == "bool":
        if type(value) is not bool:
            raise _NotPlain
        return value
    if kind == "int":
        if type(value) is not int or value < 0:
            raise _NotPlain
        return value
    if kind == "date":
        return _date(value).isoformat()
    if kind == "datetime":
        return _timestamp(value).isoformat()
    if kind == "list":
        if type(value) is not list or len(value) > 50:
            raise _NotPlain
        if spec.choices:
            return [_choice(item, spec.choices) for item in value]
        return [_text(item, 200) for item in value]
    if kind == "actions":
        if type(value) is not list:
            raise _NotPlain
        return [_action(item) for item in value]
    raise _NotPlain  # a kind this reader does not know: the serializers do


def _data(type_name: str, value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _NotPlain
    fields = EVENT_TYPES[type_name].fields
    if not value.keys() <= {spec.name for spec in fields}:
        raise _NotPlain
    data: dict[str, Any] = {}
    for spec in fields:
        if spec.name in value:
            data[spec.name] = _field_value(spec, value[spec.name])
        elif spec.required:
            raise _NotPlain
    return data


def plain_envelope(payload: Any) -> ValidEnvelope | None:
    """The ``ValidEnvelope`` the serializers would return for ``payload``, or ``None`` when
    it is not plainly valid and they must decide."""
    try:
        if type(payload) is not dict:
            raise _NotPlain
        type_name = payload.get("type")
        if type(type_name) is not str or type_name not in EVENT_TYPES:
            raise _NotPlain
        occurred_at = _timestamp(payload.get("occurred_at"))
        if occurred_at > clock.now() + FUTURE_TOLERANCE:
            raise _NotPlain
        source = payload.get("source")
        if type(source) is not dict:
            raise _NotPlain
        agency = _text(source.get("agency"), 50)
        if not _SLUG.fullmatch(agency):
            raise _NotPlain
        record = _text(source.get("record"), 120)
        subject = _person(payload.get("subject"), related=False)
        related_people = payload.get("related", [])
        if type(related_people) is not list or len(related_people) > 20:
            raise _NotPlain
        related = [_person(item, related=True) for item in related_people]
        if EVENT_TYPES[type_name].requires_related and not related:
            raise _NotPlain
        data = _data(type_name, payload.get("data", {}))
    except _NotPlain:
        return None
    return ValidEnvelope(type=type_name, occurred_at=occurred_at, source_agency=agency,
                         source_record=record, subject=subject, related=related, data=data)
