"""POST /api/v1/events over HTTP with real agency tokens: statuses, field errors, no trace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from reachable.core import clock
from reachable.intake.vocabulary import EVENT_TYPES
from reachable.organisations.models import AgencyToken, Role
from tests.borough import Borough, custody_event
from tests.world import AT, row_counts

URL = "/api/v1/events"


def post(client: Client, body: Any, token: str | None = None, raw: bytes | None = None
         ) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    data = raw if raw is not None else json.dumps(body)
    with clock.frozen_at(AT):
        return client.post(URL, data=data, content_type="application/json", **headers)


@pytest.fixture
def token(borough: Borough) -> str:
    return borough.tokens["met-police"]


def test_accepted_event_is_201_with_the_result(client: Client, borough: Borough,
                                               token: str) -> None:
    response = post(client, custody_event(), token)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["person"].startswith("P-")
    assert body["person_created"] is True
    assert "golden-hour" in [a["rule"] for a in body["alerts"]]


def test_resubmission_is_200_with_the_original_result_and_writes_nothing(
    client: Client, borough: Borough, token: str
) -> None:
    first = post(client, custody_event(), token)
    before = row_counts()
    again = post(client, custody_event(), token)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert row_counts() == before


def test_same_record_id_with_different_content_is_409(client: Client, borough: Borough,
                                                       token: str) -> None:
    post(client, custody_event(), token)
    before = row_counts()
    changed = custody_event()
    changed["data"]["offence"] = "burglary"
    response = post(client, changed, token)
    assert response.status_code == 409
    assert "source.record" in response.json()["errors"]
    assert row_counts() == before


def _with(**subject: Any) -> dict[str, Any]:
    payload = custody_event()
    payload["subject"].update(subject)
    return payload


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("unknown type", {**custody_event(), "type": "custody.teleported"}, "type"),
    ("missing source", {k: v for k, v in custody_event().items() if k != "source"}, "source"),
    ("invalid NHS", _with(nhs_number="9434765918"), "subject.nhs_number"),
    ("invalid postcode", _with(postcode="XX1 1XX"), "subject.postcode"),
    ("future dob", _with(date_of_birth="2026-01-01"), "subject.date_of_birth"),
    ("future occurred_at", {**custody_event(), "occurred_at": "2025-03-07T10:00:00+00:00"},
     "occurred_at"),
    ("naive occurred_at", {**custody_event(), "occurred_at": "2025-03-06T10:00:00"},
     "occurred_at"),
    ("unknown data field",
     {**custody_event(), "data": {"force": "met", "colour": "blue"}}, "data.colour"),
    ("missing data field", {**custody_event(), "data": {"station": "Brixton"}}, "data.force"),
]


def test_invalid_event_is_400_with_field_messages_and_writes_nothing(
    client: Client, borough: Borough, token: str, subtests: pytest.Subtests
) -> None:
    for name, payload, field in BAD:
        with subtests.test(name, field=field):
            before = row_counts()
            response = post(client, payload, token)
            assert response.status_code == 400
            errors = response.json()["errors"]
            assert field in errors, errors
            assert isinstance(errors[field], list) and errors[field]
            assert row_counts() == before


def test_non_object_body_is_400(client: Client, borough: Borough, token: str,
                                subtests: pytest.Subtests) -> None:
    for body in ([custody_event()], "custody.booked", 7, None):
        with subtests.test(repr(body)[:30]):
            before = row_counts()
            response = post(client, body, token)
            assert response.status_code == 400
            assert response.json()["errors"]
            assert row_counts() == before


def test_malformed_json_is_400(client: Client, borough: Borough, token: str) -> None:
    before = row_counts()
    response = post(client, None, token, raw=b'{"type": "custody.booked",')
    assert response.status_code == 400
    assert row_counts() == before


def test_oversized_body_is_413(client: Client, borough: Borough, token: str,
                               settings: Any) -> None:
    payload = custody_event()
    payload["data"]["offence"] = "x" * (settings.REACHABLE_MAX_EVENT_BYTES + 1)
    before = row_counts()
    response = post(client, payload, token)
    assert response.status_code == 413
    assert response.json()["errors"]
    assert row_counts() == before


def test_token_of_one_agency_cannot_submit_for_another(client: Client, borough: Borough,
                                                       token: str) -> None:
    borough.system_for("notts-police")
    before = row_counts()
    response = post(client, custody_event(agency="notts-police", force="nottinghamshire"), token)
    assert response.status_code == 403
    assert row_counts() == before


def test_revoked_token_is_401(client: Client, borough: Borough, token: str) -> None:
    AgencyToken.objects.filter(user=borough.systems["met-police"]).update(
        revoked_at=timezone.now())
    before = row_counts()
    response = post(client, custody_event(), token)
    assert response.status_code == 401
    assert row_counts() == before


@pytest.mark.parametrize("header", ["Token rch_not-a-real-key", "Token", "Token a b"])
def test_unknown_or_malformed_token_is_401(client: Client, borough: Borough, header: str
                                           ) -> None:
    with clock.frozen_at(AT):
        response = client.post(URL, data=json.dumps(custody_event()),
                               content_type="application/json", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_anonymous_is_401(client: Client, borough: Borough) -> None:
    before = row_counts()
    response = post(client, custody_event())
    assert response.status_code == 401
    assert row_counts() == before


@pytest.mark.parametrize("role", [Role.SOCIAL_WORKER, Role.POLICE_LIAISON, Role.IG_OFFICER])
def test_practitioner_session_without_submit_event_is_403(
    client: Client, borough: Borough, role: str
) -> None:
    user = borough.users[role]
    client.force_login(user)
    before = row_counts()
    assert user.agency is not None
    response = post(client, custody_event(agency=user.agency.code))
    assert response.status_code == 403
    assert row_counts() == before


def test_schema_has_a_component_for_every_event_type(client: Client, borough: Borough,
                                                     token: str) -> None:
    response = client.get("/api/schema/?format=json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    schemas = json.loads(response.content)["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        return schemas[ref.rsplit("/", 1)[-1]] if ref else node

    typed: dict[str, dict[str, Any]] = {}
    for component in schemas.values():
        type_prop = component.get("properties", {}).get("type")
        if type_prop is None:
            continue
        enum = resolve(type_prop).get("enum") or []
        if len(enum) == 1:
            typed[enum[0]] = component
    assert set(EVENT_TYPES) <= set(typed)
    custody_data = resolve(typed["custody.booked"]["properties"]["data"])
    assert "force" in custody_data["properties"]
    assert "force" in custody_data.get("required", [])


def test_schema_is_not_public(client: Client, borough: Borough) -> None:
    assert client.get("/api/schema/").status_code in (401, 403)
    client.force_login(borough.users[Role.SOCIAL_WORKER])  # any signed-in user may read it
    assert client.get("/api/schema/").status_code == 200


def test_healthz_reports_the_database(client: Client, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
