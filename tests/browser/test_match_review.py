"""Clerical review in a real browser: the queue and the side-by-side comparison pass axe-core
(WCAG 2.2 AA), and a MASH practitioner accepts a match with the keyboard alone."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import transaction
from playwright.sync_api import expect

from reachable.core import clock
from reachable.mpi.models import ReviewItem, ReviewStatus
from reachable.mpi.services import review_item_open
from reachable.people.models import Person
from reachable.people.records import address_row_add, identifier_row_add, person_row_create
from tests.borough import custody_event
from tests.browser.conftest import SCREENS, Site, axe_check

pytestmark = pytest.mark.browser


def _pair(site: Site) -> ReviewItem:
    custody = site.submit_event(custody_event(record="CUST-MPI-1",
                                              at=clock.now() - timedelta(minutes=10)))
    # The school's record, written directly rather than through intake: the linkage engine
    # would otherwise decide about this pair itself, and this test is about the review page.
    with transaction.atomic():
        incoming = person_row_create(given_name="Tomas", family_name="Nowak",
                                     date_of_birth=date(2011, 7, 19), sex="U", at=clock.now(),
                                     source_agency="education")
        identifier_row_add(person=incoming, kind="upn", value="F801200100001")
        address_row_add(person=incoming, postcode="E17 4PP", line="22 Hoe Street",
                        at=clock.now(), source_agency="education")
    candidate = Person.objects.get(pk=int(custody["person"].removeprefix("P-")))
    item = review_item_open(
        incoming=incoming, candidate=candidate, match_weight=11.2, match_probability=0.9996,
        model_version="splink-5.0/browser", source="batch:pupils.csv:17",
        comparison=[
            {"field": "given_name", "level": "jaro-winkler > 0.92", "agreement": "partial",
             "bayes_factor": 12.5, "match_weight": 3.64, "left": "Tomas", "right": "Tomasz"},
            {"field": "family_name", "level": "exact", "agreement": "agree",
             "bayes_factor": 80.0, "match_weight": 6.32, "left": "Nowak", "right": "Nowak"},
            {"field": "date_of_birth", "level": "exact", "agreement": "agree",
             "bayes_factor": 300.0, "match_weight": 8.23, "left": "2011-07-19",
             "right": "2011-07-19"},
            {"field": "postcode", "level": "different", "agreement": "disagree",
             "bayes_factor": 0.2, "match_weight": -2.32, "left": "E17 4PP", "right": "N15 3RT"},
        ],
    )
    assert item is not None
    return item


def test_review_item_side_by_side_and_accept_by_keyboard(site: Site) -> None:
    item = _pair(site)
    page = site.page()
    site.sign_in(page, "mash-practitioner")

    page.get_by_role("navigation", name="Menu").get_by_role(
        "link", name="Possible matches").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Possible matches to review")
    axe_check(page, "review queue")
    page.get_by_role("link", name=re.compile(f"Compare {item.incoming.ref}")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Are these the same child?")
    records = page.locator("#records")
    expect(records).to_contain_text(f"New record {item.incoming.ref}")
    expect(records).to_contain_text(f"Possible match {item.candidate.ref}")
    expect(records).to_contain_text("Unique pupil number: F801200100001")
    expect(records).to_contain_text("NHS number: 9434765919")
    expect(records).to_contain_text("22 Hoe Street, E17 4PP")
    weights = page.locator("#comparison")
    expect(weights).to_contain_text("Partly agrees")
    expect(weights).to_contain_text("Disagrees")
    expect(weights).to_contain_text("\u22122.32")
    axe_check(page, "review item")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "review-item.png"), full_page=True)

    # Save without choosing: the error summary takes focus, and the page still passes axe.
    page.get_by_role("button", name="Save decision").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select whether these records are the same child")
    axe_check(page, "review item with errors")

    # Keyboard only: the error link leads to the first radio; Space chooses it, Tab moves on.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # follow the error summary's link
    expect(page.get_by_label("Yes, they are the same child")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_label("Yes, they are the same child")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Notes")).to_be_focused()
    page.keyboard.type("Same date of birth; the school confirms the NHS number.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save decision")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"Records merged: {item.incoming.ref} is now part of {item.candidate.ref}")
    expect(page.locator(".govuk-summary-list").first).to_contain_text("Accepted: merged")
    axe_check(page, "review item decided")
    item.refresh_from_db()
    assert item.status == ReviewStatus.ACCEPTED and item.merge is not None
    assert item.notes.startswith("Same date of birth")

    page.get_by_role("link", name=f"Merge {item.merge.pk}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{item.incoming.ref} merged into {item.candidate.ref}")
    axe_check(page, "merge record")
    assert site.errors == []
