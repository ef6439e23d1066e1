"""Validation of the event envelope and of each type's payload.

The serializers here are used by the intake service (the one door for API, file import and
forms) and published as OpenAPI components. Errors come back per field, with dotted paths.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar

from rest_framework import serializers

from reachable.core import clock
from reachable.intake.vocabulary import EVENT_TYPES, RELATED_ROLES, EventType, F
from reachable.people.validators import (
    normalise_nhs_number,
    normalise_pnc_id,
    normalise_postcode,
    normalise_upn,
)

# Clocks at agencies drift; an event a few minutes "in the future" is accepted, no more.
FUTURE_TOLERANCE = timedelta(minutes=5)


def _not_in_future_date(value: date) -> None:
    if value > clock.now().date():
        raise serializers.ValidationError("This date is in the future.")


class AwareDateTimeField(serializers.DateTimeField):
    """A timestamp that must carry its time zone (events cross agencies and clock changes)."""

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str) and not re.search(r"(Z|[+-]\d{2}:?\d{2})$", value.strip()):
            raise serializers.ValidationError(
                "Give the time zone, e.g. 2025-03-03T08:00:00+00:00 or ...Z."
            )
        result: datetime = super().to_internal_value(value)
        return result


def _normaliser(func: Any) -> Any:
    def validate(value: str) -> str:
        try:
            return str(func(value))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    return validate


class AddressSerializer(serializers.Serializer):
    line = serializers.CharField(max_length=300, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=10)

    def validate_postcode(self, value: str) -> str:
        result: str = _normaliser(normalise_postcode)(value)
        return result


class SubjectSerializer(serializers.Serializer):
    """The person as the agency knows them. At least a name or an identifier is needed."""

    given_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    family_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True,
                                          validators=[_not_in_future_date])
    sex = serializers.ChoiceField(choices=["M", "F", "U"], required=False)
    nhs_number = serializers.CharField(max_length=14, required=False,
                                       help_text="10 digits, modulus-11 check digit")
    upn = serializers.CharField(max_length=13, required=False,
                                help_text="unique pupil number with its check letter")
    pnc_id = serializers.CharField(max_length=20, required=False)
    local_child_id = serializers.CharField(max_length=40, required=False)
    address = AddressSerializer(required=False)
    postcode = serializers.CharField(max_length=10, required=False,
                                     help_text="shorthand for address.postcode")

    def validate_nhs_number(self, value: str) -> str:
        result: str = _normaliser(normalise_nhs_number)(value)
        return result

    def validate_upn(self, value: str) -> str:
        result: str = _normaliser(normalise_upn)(value)
        return result

    def validate_pnc_id(self, value: str) -> str:
        result: str = _normaliser(normalise_pnc_id)(value)
        return result

    def validate_postcode(self, value: str) -> str:
        result: str = _normaliser(normalise_postcode)(value)
        return result

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "postcode" in attrs:
            shorthand = attrs.pop("postcode")
            attrs.setdefault("address", {"postcode": shorthand, "line": ""})
        named = attrs.get("given_name") or attrs.get("family_name")
        identified = any(attrs.get(k) for k in ("nhs_number", "upn", "pnc_id", "local_child_id"))
        if not named and not identified:
            raise serializers.ValidationError("Give the person's name or an identifier.")
        return attrs


class RelatedSerializer(SubjectSerializer):
    role = serializers.ChoiceField(choices=list(RELATED_ROLES), default="related")


class SourceSerializer(serializers.Serializer):
    agency = serializers.SlugField(max_length=50, help_text="the agency's code in Reachable")
    record = serializers.CharField(max_length=120,
                                   help_text="the agency's own record id (idempotency key)")


class MaceActionSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=500)
    owner = serializers.CharField(max_length=100, help_text="agency or team code")
    due = serializers.DateField()


def _field_for(spec: F) -> serializers.Field:
    common: dict[str, Any] = {"required": spec.required, "help_text": spec.help or None}
    if spec.kind == "text":
        return serializers.CharField(max_length=300, allow_blank=not spec.required, **common)
    if spec.kind == "postcode":
        return serializers.CharField(max_length=10, validators=[_normaliser(normalise_postcode)],
                                     **common)
    if spec.kind == "longtext":
        return serializers.CharField(max_length=10_000, allow_blank=not spec.required, **common)
    if spec.kind == "choice":
        return serializers.ChoiceField(choices=list(spec.choices), **common)
    if spec.kind == "bool":
        return serializers.BooleanField(**common)
    if spec.kind == "date":
        return serializers.DateField(**common)
    if spec.kind == "datetime":
        return AwareDateTimeField(**common)
    if spec.kind == "int":
        return serializers.IntegerField(min_value=0, **common)
    if spec.kind == "list":
        child: serializers.Field = (
            serializers.ChoiceField(choices=list(spec.choices)) if spec.choices
            else serializers.CharField(max_length=200)
        )
        return serializers.ListField(child=child, max_length=50, **common)
    if spec.kind == "actions":
        return MaceActionSerializer(many=True, **common)
    raise ValueError(f"unknown field kind {spec.kind}")


def _camel(type_name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[._]", type_name))


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo in a payload is an error, not silent loss."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {name: ["Not a field of this event type."] for name in sorted(unknown)}
            )
        return attrs


def _data_serializer(event_type: EventType) -> type[serializers.Serializer]:
    attrs: dict[str, Any] = {f.name: _field_for(f) for f in event_type.fields}
    attrs["__doc__"] = event_type.summary
    return type(f"{_camel(event_type.name)}Data", (StrictSerializer,), attrs)


DATA_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    name: _data_serializer(t) for name, t in EVENT_TYPES.items()
}


class EnvelopeSerializer(serializers.Serializer):
    """The event envelope (events.md). ``data`` is checked against the type's own schema."""

    type = serializers.CharField(max_length=60)
    occurred_at = AwareDateTimeField(help_text="when it happened, with time zone")
    source = SourceSerializer()  # type: ignore[assignment]
    subject = SubjectSerializer()
    related = RelatedSerializer(many=True, required=False, max_length=20)  # type: ignore[call-arg]
    data = serializers.DictField(required=False, default=dict)  # type: ignore[assignment]

    def validate_type(self, value: str) -> str:
        if value not in EVENT_TYPES:
            raise serializers.ValidationError(f"Unknown event type '{value}'.")
        return value

    def validate_occurred_at(self, value: datetime) -> datetime:
        if value > clock.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError("This time is in the future.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        event_type = EVENT_TYPES[attrs["type"]]
        data = _primed(DATA_SERIALIZERS[attrs["type"]], attrs.get("data") or {})
        if not data.is_valid():
            raise serializers.ValidationError({"data": data.errors})
        attrs["data"] = data.validated_data
        if event_type.requires_related and not attrs.get("related"):
            raise serializers.ValidationError(
                {"related": ["This event type needs the related person."]}
            )
        return attrs


def envelope_component(type_name: str) -> type[serializers.Serializer]:
    """A per-type envelope for the OpenAPI document (``data`` typed, ``type`` fixed)."""
    attrs: dict[str, Any] = {
        "type": serializers.ChoiceField(choices=[type_name]),
        "data": DATA_SERIALIZERS[type_name](required=False),
        "__doc__": EVENT_TYPES[type_name].summary,
    }
    return type(f"{_camel(type_name)}Event", (EnvelopeSerializer,), attrs)


@dataclass(frozen=True)
class ValidEnvelope:
    type: str
    occurred_at: datetime
    source_agency: str
    source_record: str
    subject: dict[str, Any]
    related: list[dict[str, Any]]
    data: dict[str, Any]

    @cached_property
    def related_subjects(self) -> list[tuple[str, dict[str, Any]]]:
        """Each related person as (role, description without the role), made once: the batch
        reads ahead for the same description objects it later resolves (``resolver``)."""
        return [(related.get("role", "related"),
                 {k: v for k, v in related.items() if k != "role"}) for related in self.related]


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as ``{"subject.nhs_number": ["..."]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = prefix if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else
                                                             str(key))
            for k, v in flatten_errors(value, name).items():
                flat.setdefault(k or "non_field_errors", []).extend(v)
    elif isinstance(errors, list):
        if all(not isinstance(e, dict | list) for e in errors):
            flat[prefix] = [str(e) for e in errors]
        else:
            for index, item in enumerate(errors):
                if item:
                    flat.update(flatten_errors(item, f"{prefix}[{index}]"))
    else:
        flat[prefix] = [str(errors)]
    return flat


def _plain(value: Any) -> Any:
    """Validated data to JSON-ready values (dates as ISO strings) for storage."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


_S = TypeVar("_S", bound=serializers.Serializer)
_reusable = threading.local()


def _primed(cls: type[_S], data: Any) -> _S:
    """This thread's instance of ``cls``, reset and given ``data`` to validate.

    A new DRF serializer deep-copies and re-binds all its declared fields, which was most of
    the cost of validating an event. Validation keeps no state on the fields, only on the
    instance (``initial_data`` and the results, cleared here), so one instance per thread and
    class validates exactly as a fresh one would, with the same errors.
    """
    instances: dict[type[serializers.Serializer], serializers.Serializer] = (
        _reusable.__dict__.setdefault("instances", {})
    )
    serializer = instances.get(cls)
    if serializer is None:
        serializer = instances[cls] = cls(data=data)
    else:
        for attr in ("_validated_data", "_errors", "_data"):
            serializer.__dict__.pop(attr, None)
        serializer.initial_data = data
    return serializer  # type: ignore[return-value]


def validate_envelope(payload: Any) -> ValidEnvelope:
    """Validate an envelope or raise ``ValidationFailed`` with per-field messages.

    A plainly valid payload is read by ``plain_envelopes``, which gives the same answer the
    serializers would; everything else, and every error, is theirs (``serializer_envelope``).
    """
    from reachable.intake.plain_envelopes import plain_envelope  # it builds on this module

    plain = plain_envelope(payload)
    if plain is not None:
        return plain
    return serializer_envelope(payload)


def serializer_envelope(payload: Any) -> ValidEnvelope:
    """Validate with the serializers alone: the authority ``plain_envelopes`` is held to."""
    from reachable.core.errors import ValidationFailed

    if not isinstance(payload, dict):
        raise ValidationFailed({"non_field_errors": ["Send one JSON object (the event)."]})
    serializer = _primed(EnvelopeSerializer, payload)
    if not serializer.is_valid():
        raise ValidationFailed(flatten_errors(serializer.errors))
    v = serializer.validated_data
    return ValidEnvelope(
        type=v["type"], occurred_at=v["occurred_at"], source_agency=v["source"]["agency"],
        source_record=v["source"]["record"], subject=dict(v["subject"]),
        related=[dict(r) for r in v.get("related", [])], data=_plain(dict(v["data"])),
    )
