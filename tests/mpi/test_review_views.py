"""The review pages: the queue, the side-by-side comparison, decisions, merges and undo."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from reachable.audit.models import AuditRecord
from reachable.core import clock
from reachable.mpi.models import PersonMerge, ReviewItem, ReviewStatus
from reachable.organisations.models import Role
from tests.borough import Borough
from tests.mpi.story import Pair, two_records_of_one_child
from tests.mpi.test_review import open_item
from tests.web.helpers import signed_in
from tests.world import AT


@pytest.fixture
def pair(borough: Borough) -> Pair:
    with clock.frozen_at(AT):
        return two_records_of_one_child(borough)


@pytest.fixture
def item(pair: Pair) -> ReviewItem:
    opened = open_item(pair.custody, pair.school)
    assert opened is not None
    return opened


def _text(response: object) -> str:
    return re.sub(r"\s+", " ", response.content.decode())  # type: ignore[attr-defined]


def _without_csrf(response: object) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", _text(response))


def test_queue_lists_open_items_for_reviewers(borough: Borough, item: ReviewItem) -> None:
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    with clock.frozen_at(AT):
        response = client.get("/match-reviews")
    assert response.status_code == 200
    page = _text(response)
    assert f'href="/match-reviews/{item.pk}"' in page
    assert "Possible matches" in page  # the navigation link
    assert AuditRecord.objects.filter(action="match_reviews.listed").count() == 1


def test_navigation_link_only_for_roles_that_may_review(borough: Borough) -> None:
    for role, shown in [(Role.MASH_MANAGER, True), (Role.IG_OFFICER, True),
                        (Role.SOCIAL_WORKER, False), (Role.POLICE_LIAISON, False)]:
        page = signed_in(borough.users[role]).get("/").content.decode()
        assert ('href="/match-reviews"' in page) is shown, role


def test_the_side_by_side_page(borough: Borough, pair: Pair, item: ReviewItem) -> None:
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    with clock.frozen_at(AT):
        response = client.get(f"/match-reviews/{item.pk}")
    assert response.status_code == 200
    page = _text(response)
    for expected in [pair.custody.ref, pair.school.ref, "Tomasz Nowak", "Kuba Wisniewski",
                     "19 July 2011", "2 March 2011", "NHS number: 9434765919",
                     "Unique pupil number",
                     "1 High Road, N15 3RT", "22 Hoe Street, E17 4PP", "Metropolitan Police",
                     "Northbrook Education", "Chronology entries",
                     # the weight breakdown: results in words, signed weights
                     "Partly agrees", "Disagrees", "Missing on one or both", "+8.23",
                     "\u22122.32", "against a match", "+15.87", "98.25%", "splink-5.0/test-1"]:
        assert expected in page, expected
    assert 'name="decision"' in page
    # Both records' histories show the read.
    views = AuditRecord.objects.filter(action="match_review.viewed")
    assert {v.person_id for v in views} == {pair.custody.pk, pair.school.pk}


def test_ig_officers_see_the_item_without_the_decision_form(borough: Borough,
                                                            item: ReviewItem) -> None:
    client = signed_in(borough.users[Role.IG_OFFICER])
    response = client.get(f"/match-reviews/{item.pk}")
    assert response.status_code == 200
    assert 'name="decision"' not in response.content.decode()
    assert client.post(f"/match-reviews/{item.pk}/decision",
                       {"decision": "reject", "notes": "x"}).status_code == 403


@pytest.mark.parametrize("role", [Role.SOCIAL_WORKER, Role.POLICE_LIAISON,
                                  Role.PARTNERSHIP_MANAGER, Role.TEAM_MANAGER])
def test_other_roles_get_the_same_404_as_for_a_missing_item(borough: Borough,
                                                           item: ReviewItem,
                                                           role: str) -> None:
    client = signed_in(borough.users[role])
    assert client.get("/match-reviews").status_code == 403
    real = client.get(f"/match-reviews/{item.pk}")
    missing = client.get("/match-reviews/999999")
    assert real.status_code == missing.status_code == 404
    assert _without_csrf(real) == _without_csrf(missing)
    decided = client.post(f"/match-reviews/{item.pk}/decision", {"decision": "accept"})
    assert decided.status_code == 404
    item.refresh_from_db()
    assert item.status == ReviewStatus.OPEN


def test_accept_merges_and_the_merge_page_offers_undo_to_managers(
    borough: Borough, pair: Pair, item: ReviewItem
) -> None:
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    with clock.frozen_at(AT):
        response = client.post(f"/match-reviews/{item.pk}/decision",
                               {"decision": "accept", "notes": "Same mother, same DOB."})
    assert response.status_code == 302
    assert response["Location"] == f"/match-reviews/{item.pk}"
    page = _text(client.get(response["Location"]))
    assert f"Records merged: {pair.custody.ref} is now part of {pair.school.ref}" in page
    merge = PersonMerge.objects.get()
    assert f'href="/merges/{merge.pk}"' in page
    # The practitioner sees the merge but may not undo it; the manager may.
    practitioner_view = client.get(f"/merges/{merge.pk}").content.decode()
    assert "Undo merge" not in practitioner_view and "chronology.Event" in practitioner_view
    manager = signed_in(borough.users[Role.MASH_MANAGER])
    assert "Undo merge" in manager.get(f"/merges/{merge.pk}").content.decode()
    refused = manager.post(f"/merges/{merge.pk}/undo", {"reason": ""})
    assert refused.status_code == 400 and "govuk-error-summary" in refused.content.decode()
    with clock.frozen_at(AT):
        undone = manager.post(f"/merges/{merge.pk}/undo", {"reason": "They are twins."})
    assert undone.status_code == 302
    merge.refresh_from_db()
    assert not merge.is_active
    assert client.post(f"/merges/{merge.pk}/undo", {"reason": "x"}).status_code == 403


def test_reject_without_notes_shows_the_error_summary(borough: Borough,
                                                      item: ReviewItem) -> None:
    client = signed_in(borough.users[Role.MASH_MANAGER])
    response = client.post(f"/match-reviews/{item.pk}/decision", {"decision": "reject"})
    assert response.status_code == 400
    page = _text(response)
    assert "There is a problem" in page and 'href="#id_notes"' in page
    assert "Say why these are different people." in page
    nothing = client.post(f"/match-reviews/{item.pk}/decision", {"notes": "x"})
    assert nothing.status_code == 400
    assert 'href="#id_decision"' in _text(nothing)
    item.refresh_from_db()
    assert item.status == ReviewStatus.OPEN


def test_a_merged_records_p_ref_leads_to_the_survivor(borough: Borough, pair: Pair,
                                                      item: ReviewItem) -> None:
    worker = signed_in(borough.users[Role.MASH_PRACTITIONER])
    with clock.frozen_at(AT):
        worker.post(f"/match-reviews/{item.pk}/decision", {"decision": "accept"})
        response = worker.get(f"/people/{pair.custody.pk}")
        assert response.status_code == 302
        assert response["Location"] == f"/people/{pair.school.pk}"
        # The survivor's page names the record merged into it, linked for reviewers.
        survivor = _text(worker.get(f"/people/{pair.school.pk}"))
        merge = PersonMerge.objects.get()
        assert "Records merged into this one" in survivor
        assert f'<a class="govuk-link" href="/merges/{merge.pk}">{pair.custody.ref}</a>' \
            in survivor
        # Someone who may not open the survivor gets the ordinary "not found".
        outsider = signed_in(borough.users[Role.HOUSING_LIAISON])
        assert outsider.get(f"/people/{pair.custody.pk}").status_code == 404
        found = worker.get(f"/people?q={pair.custody.ref}").content.decode()
        assert f'href="/people/{pair.school.pk}"' in found
        assert f'href="/people/{pair.custody.pk}"' not in found


def test_queue_tabs_show_decided_items(borough: Borough, item: ReviewItem) -> None:
    client = signed_in(borough.users[Role.MASH_MANAGER])
    with clock.frozen_at(AT):
        client.post(f"/match-reviews/{item.pk}/decision",
                    {"decision": "reject", "notes": "Twins."})
    assert f'href="/match-reviews/{item.pk}"' not in client.get("/match-reviews").content.decode()
    rejected = client.get("/match-reviews?status=rejected").content.decode()
    assert f'href="/match-reviews/{item.pk}"' in rejected


def test_anonymous_users_are_sent_to_sign_in(item: ReviewItem) -> None:
    client = Client()
    for path in ["/match-reviews", f"/match-reviews/{item.pk}", "/merges/1"]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/sign-in")
