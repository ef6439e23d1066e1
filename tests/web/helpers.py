"""Small helpers for web tests: sign in, and children whose stories give known access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client

from reachable.core import clock
from reachable.organisations.models import User
from tests.borough import PASSWORD, Borough, custody_event


def signed_in(user: User) -> Client:
    """A client signed in through the real sign-in form (axes and all), not force_login."""
    client = Client()
    response = client.post("/sign-in", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def child_in_custody(borough: Borough, *, record: str = "CUST-1", minutes_ago: int = 5,
                     **subject: Any) -> dict[str, Any]:
    """A child booked into custody just now: golden-hour alert for the MASH, clock running."""
    at = clock.now() - timedelta(minutes=minutes_ago)
    return borough.submit(custody_event(record=record, at=at, **subject)).result


def child_known_to_education(borough: Borough, *, record: str = "EDU-1",
                             given: str = "Amara", family: str = "Okafor",
                             dob: str = "2012-02-03") -> dict[str, Any]:
    """A child only the education service knows about: no MASH relationship, no alert."""
    return borough.submit({
        "type": "person.registered",
        "occurred_at": (clock.now() - timedelta(days=3)).isoformat(),
        "source": {"agency": "education", "record": record},
        "subject": {"given_name": given, "family_name": family, "date_of_birth": dob},
        "data": {"record_type": "pupil"},
    }).result


def person_id(result: dict[str, Any]) -> int:
    return int(result["person"].removeprefix("P-"))
