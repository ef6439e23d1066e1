"""A page about a child takes the audit chain's lock only to write its record and commit.

Every view of a child appends an audit record, and appends are serialised by one lock held to
the end of the transaction. A page that appended where it read the child, then went on to read
the rest of the record and render it, held that lock for the whole page: every other page view
and every batch of events waited behind it. The page's record is now written when the view
ends, inside the request's transaction. (SQLite serialises all writers, so this runs on
PostgreSQL only.)
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.signals import template_rendered

from reachable.audit.models import AuditRecord
from reachable.audit.services import audit_append
from reachable.audit.verify import verify_chain
from tests.borough import Borough, build_borough
from tests.rules.test_lock_order_pg import Paused
from tests.web.helpers import child_in_custody, person_id, signed_in


@pytest.fixture
def borough(transactional_db: None) -> Borough:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (SQLite serialises all writers)")
    return build_borough()


def test_a_page_being_rendered_does_not_hold_up_another_audited_read(borough: Borough) -> None:
    """A MASH practitioner's page about a child, paused while its template renders (the child
    read and its audit record made): another practitioner's audited read goes through at
    once, under a 2 s lock timeout, and the paused page then finishes and is in the chain."""
    child = person_id(child_in_custody(borough))
    client = signed_in(borough.users["mash_practitioner"])

    def while_rendering(sender: Any, **kwargs: Any) -> None:
        if page.in_its_thread():  # only the page's own rendering
            page.pause_here()

    page = Paused(lambda: client.get(f"/people/{child}"))
    template_rendered.connect(while_rendering)
    try:
        page.start()
        with transaction.atomic():
            with connection.cursor() as cursor:  # waiting for the page fails, not hangs
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            audit_append(actor=borough.users["mash_manager"], action="people.searched",
                         object_type="search", detail={"query": "x", "results": []})
    finally:
        response = page.go()
        template_rendered.disconnect(while_rendering)
    assert response.status_code == 200
    actions = list(AuditRecord.objects.order_by("-id").values_list("action", flat=True)[:2])
    assert actions == ["person.viewed", "people.searched"]  # the page's record, written last
    assert verify_chain().intact
