"""API views: thin wrappers over the services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reachable.intake.schemas import envelope_component
from reachable.intake.services import DuplicateConflict, event_submit
from reachable.intake.vocabulary import EVENT_TYPES


class SubmissionResultSerializer(serializers.Serializer):
    event = serializers.IntegerField()
    person = serializers.CharField(help_text="the person's Reachable reference, e.g. P-000123")
    person_created = serializers.BooleanField()
    matched_on = serializers.CharField()
    alerts = serializers.ListField(child=serializers.DictField())
    clocks = serializers.ListField(child=serializers.DictField())
    clocks_met = serializers.ListField(child=serializers.DictField())


class ErrorSerializer(serializers.Serializer):
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="messages per field, by dotted path",
    )


EVENT_ENVELOPES = PolymorphicProxySerializer(
    component_name="Event",
    serializers={name: envelope_component(name) for name in EVENT_TYPES},
    resource_type_field_name="type",
)


class EventSubmitView(APIView):
    """Submit one event. Idempotent on (source agency, source record id)."""

    @extend_schema(
        operation_id="events_submit",
        request=EVENT_ENVELOPES,
        responses={
            201: SubmissionResultSerializer,
            200: OpenApiResponse(SubmissionResultSerializer,
                                 description="already accepted: the original result"),
            400: ErrorSerializer, 409: ErrorSerializer, 413: ErrorSerializer,
        },
        examples=[OpenApiExample("Custody booking", request_only=True, value={
            "type": "custody.booked", "occurred_at": "2025-03-06T10:10:00+00:00",
            "source": {"agency": "met-police", "record": "CUST-0001"},
            "subject": {"given_name": "Tomasz", "family_name": "Nowak",
                        "date_of_birth": "2011-07-19", "nhs_number": "9434765919"},
            "data": {"force": "met", "station": "Brixton", "offence": "robbery"},
        })],
    )
    def post(self, request: Request) -> Response:
        payload: Any = request.data
        try:
            submission = event_submit(actor=request.user, payload=payload)  # type: ignore[arg-type]
        except DuplicateConflict as exc:
            return Response({"errors": exc.errors}, status=status.HTTP_409_CONFLICT)
        code = status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK
        return Response(submission.result, status=code)
