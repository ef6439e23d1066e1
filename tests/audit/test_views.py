"""Every view writes its audit records at its end, inside the request's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS
from django.test.signals import template_rendered
from django.urls import URLPattern, URLResolver, get_resolver

from reachable.audit.models import AuditRecord
from reachable.audit.verify import verify_chain
from tests.borough import Borough
from tests.web.helpers import child_in_custody, person_id, signed_in


def _views(patterns: Iterable[URLPattern | URLResolver]) -> Iterator[URLPattern]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry.url_patterns)
        else:
            yield entry


def test_every_view_in_the_request_transaction_defers_its_audit_records() -> None:
    patterns = list(_views(get_resolver().url_patterns))
    atomic = [p for p in patterns if DEFAULT_DB_ALIAS not in getattr(
        p.callback, "_non_atomic_requests", set())]
    assert len(atomic) > 20  # the web UI's pages and the API, not an empty walk
    assert [str(p.pattern) for p in atomic if not getattr(p.callback, "audit_deferred", False)
            ] == []
    api = next(p for p in atomic if p.name == "events")
    assert api.callback.csrf_exempt  # type: ignore[attr-defined]  # the wrapper keeps it


@pytest.mark.django_db
def test_a_page_about_a_child_is_rendered_before_its_view_is_recorded(borough: Borough
                                                                       ) -> None:
    child = person_id(child_in_custody(borough))
    client = signed_in(borough.users["mash_practitioner"])
    recorded_while_rendering: list[bool] = []

    def while_rendering(sender: Any, **kwargs: Any) -> None:
        recorded_while_rendering.append(
            AuditRecord.objects.filter(action="person.viewed", person_id=child).exists())

    template_rendered.connect(while_rendering)
    try:
        response = client.get(f"/people/{child}")
    finally:
        template_rendered.disconnect(while_rendering)
    assert response.status_code == 200
    assert recorded_while_rendering and not any(recorded_while_rendering)
    viewed = AuditRecord.objects.get(action="person.viewed", person_id=child)
    assert viewed.actor_id == borough.users["mash_practitioner"].pk
    assert verify_chain().intact
