"""Reading an envelope that is plainly valid, without the serializers' machinery.

Almost every event an agency system sends is valid and plainly shaped: strings where strings
are expected, ISO dates, real booleans. For those, building DRF's nested validated data was
the largest single cost of accepting an event. ``plain_envelope`` reads such a payload straight
from the vocabulary (``EVENT_TYPES``), with each field's length, blanks, choices and default
taken from the serializers' own declarations, and returns exactly the ``ValidEnvelope`` they
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

from django.conf import settings
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from reachable.core import clock
from reachable.intake.schemas import (
    DATA_SERIALIZERS,
    FUTURE_TOLERANCE,
    AddressSerializer,
    AwareDateTimeField,
    EnvelopeSerializer,
    MaceActionSerializer,
    RelatedSerializer,
    SourceSerializer,
    ValidEnvelope,
)
from reachable.intake.vocabulary import EVENT_TYPES, F
from reachable.people.validators import (
    normalise_nhs_number,
    normalise_pnc_id,
    normalise_postcode,
    normalise_upn,
)


class _NotPlain(Exception):
    """This payload is not plainly valid: let the serializers decide."""


def _declared(serializer: type[serializers.Serializer]) -> dict[str, Any]:
    """A serializer's declared fields, read for their limits, blanks, choices and defaults,
    so this reader follows the serializers' declarations rather than repeating them."""
    fields: dict[str, Any] = serializer._declared_fields
    return fields


_ENVELOPE = _declared(EnvelopeSerializer)
_SOURCE = _declared(SourceSerializer)
_PERSON = _declared(RelatedSerializer)  # the subject's fields, and a related person's role
_ADDRESS = _declared(AddressSerializer)
_ACTION = _declared(MaceActionSerializer)
_DATA = {name: _declared(serializer) for name, serializer in DATA_SERIALIZERS.items()}

_SURROGATE = re.compile("[\ud800-\udfff]")
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _text(value: Any, field: Any) -> str:
    """As the DRF ``CharField`` ``field`` given a string: stripped, blank only where it
    allows, within its length, no NUL or surrogate characters."""
    if type(value) is not str:
        raise _NotPlain
    value = value.strip()
    if not value:
        if field.allow_blank:
            return ""
        raise _NotPlain
    if (len(value) > field.max_length or "\x00" in value
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


def _choice(value: Any, field: Any) -> str:
    if type(value) is not str or value not in field.choices:
        raise _NotPlain
    return value


def _count(items: Any, field: Any) -> list[Any]:
    """A list within the length its list field (or many=True serializer) allows."""
    if type(items) is not list or (field.max_length is not None
                                   and len(items) > field.max_length):
        raise _NotPlain
    return items


_TIMESTAMP = AwareDateTimeField()  # the serializers' own field: same parsing, same zone
# The field tries ISO 8601 first (DRF's default input formats): only then is a time stamp
# that ``fromisoformat`` reads certain to be read the same way by the field.
_ISO_FIRST = str(getattr(_TIMESTAMP, "input_formats",
                         api_settings.DATETIME_INPUT_FORMATS)[0]).lower() == ISO_8601
_ZONED = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")  # as ``AwareDateTimeField`` asks


def _timestamp(value: Any) -> datetime:
    """Parsed and put in the current time zone by the serializers' own field, as they do.

    What that field does with an ISO 8601 time stamp that carries its zone comes down to
    ``datetime.fromisoformat`` (Django's ``parse_datetime`` tries it first) and
    ``astimezone`` of the current time zone; those two are called here directly, and
    anything else (no zone, another format, a date out of range) goes through the field."""
    if type(value) is not str:
        raise _NotPlain
    if _ISO_FIRST and settings.USE_TZ and _ZONED.search(value):
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                return parsed.astimezone(timezone.get_current_timezone())
        except (ValueError, OverflowError):
            pass
    try:
        checked: datetime = _TIMESTAMP.to_internal_value(value)
    except serializers.ValidationError:
        raise _NotPlain from None
    return checked


def _address(value: Any) -> dict[str, Any]:
    if type(value) is not dict or "postcode" not in value:
        raise _NotPlain
    address: dict[str, Any] = {}
    if "line" in value:
        address["line"] = _text(value["line"], _ADDRESS["line"])
    address["postcode"] = _normalised(normalise_postcode,
                                      _text(value["postcode"], _ADDRESS["postcode"]))
    return address


# In the serializer's order, with the ``validate_<name>`` each is normalised by.
_IDENTIFIERS: tuple[tuple[str, Callable[[str], str] | None], ...] = (
    ("nhs_number", normalise_nhs_number),
    ("upn", normalise_upn),
    ("pnc_id", normalise_pnc_id),
    ("local_child_id", None),
)


def _person(value: Any, *, related: bool) -> dict[str, Any]:
    """A subject (or a related person, with its role), fields in the serializer's order."""
    if type(value) is not dict:
        raise _NotPlain
    person: dict[str, Any] = {}
    for name in ("given_name", "family_name"):
        if name in value:
            person[name] = _text(value[name], _PERSON[name])
    if "date_of_birth" in value:
        dob = value["date_of_birth"]
        if dob is not None:
            dob = _date(dob)
            if dob > clock.now().date():
                raise _NotPlain
        person["date_of_birth"] = dob
    if "sex" in value:
        person["sex"] = _choice(value["sex"], _PERSON["sex"])
    for name, normalise in _IDENTIFIERS:
        if name in value:
            text = _text(value[name], _PERSON[name])
            person[name] = text if normalise is None else _normalised(normalise, text)
    if "address" in value:
        person["address"] = _address(value["address"])
    shorthand = None
    if "postcode" in value:
        shorthand = _normalised(normalise_postcode, _text(value["postcode"], _PERSON["postcode"]))
    if related:
        role = _PERSON["role"]
        person["role"] = _choice(value["role"], role) if "role" in value else role.default
    if shorthand is not None:
        person.setdefault("address", {"postcode": shorthand, "line": ""})
    named = person.get("given_name") or person.get("family_name")
    identified = any(person.get(name) for name, _ in _IDENTIFIERS)
    if not named and not identified:
        raise _NotPlain
    return person


def _action(value: Any) -> dict[str, Any]:
    if type(value) is not dict or not {"description", "owner", "due"} <= value.keys():
        raise _NotPlain
    return {"description": _text(value["description"], _ACTION["description"]),
            "owner": _text(value["owner"], _ACTION["owner"]),
            "due": _date(value["due"]).isoformat()}


def _field_value(spec: F, field: Any, value: Any) -> Any:
    """One ``data`` field as its declared serializer field (made by ``schemas._field_for``)
    would leave it, already in the stored, JSON-ready form."""
    kind = spec.kind
    if kind in ("text", "longtext"):
        return _text(value, field)
    if kind == "postcode":  # checked, not rewritten: the field's validator only validates
        text = _text(value, field)
        _normalised(normalise_postcode, text)
        return text
    if kind == "choice":
        return _choice(value, field)
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
        items = _count(value, field)
        if spec.choices:
            return [_choice(item, field.child) for item in items]
        return [_text(item, field.child) for item in items]
    if kind == "actions":
        return [_action(item) for item in _count(value, field)]
    raise _NotPlain  # a kind this reader does not know: the serializers do


def _data(type_name: str, value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _NotPlain
    fields = EVENT_TYPES[type_name].fields
    declared = _DATA[type_name]
    if not value.keys() <= declared.keys():
        raise _NotPlain
    data: dict[str, Any] = {}
    for spec in fields:
        if spec.name in value:
            data[spec.name] = _field_value(spec, declared[spec.name], value[spec.name])
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
        agency = _text(source.get("agency"), _SOURCE["agency"])
        if not _SLUG.fullmatch(agency):
            raise _NotPlain
        record = _text(source.get("record"), _SOURCE["record"])
        subject = _person(payload.get("subject"), related=False)
        related = [_person(item, related=True)
                   for item in _count(payload.get("related", []), _ENVELOPE["related"])]
        if EVENT_TYPES[type_name].requires_related and not related:
            raise _NotPlain
        data = _data(type_name, payload.get("data", {}))
    except _NotPlain:
        return None
    return ValidEnvelope(type=type_name, occurred_at=occurred_at, source_agency=agency,
                         source_record=record, subject=subject, related=related, data=data)
