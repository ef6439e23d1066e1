"""Every page type in a real browser: WCAG 2.2 AA by axe-core, one h1, a unique title; and
the search and not-found behaviour that keeps children's records from leaking."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from reachable.core import clock
from reachable.rules.models import Alert
from tests.borough import custody_event
from tests.browser.conftest import Site, axe_check

pytestmark = pytest.mark.browser


def _school_child(site: Site) -> int:
    result = site.submit_event({
        "type": "person.registered",
        "occurred_at": (clock.now() - timedelta(days=2)).isoformat(),
        "source": {"agency": "education", "record": "EDU-LIVE-1"},
        "subject": {"given_name": "Amara", "family_name": "Okafor", "date_of_birth": "2012-02-03"},
        "data": {"record_type": "pupil"},
    }, agency="education")
    return int(result["person"].removeprefix("P-"))


def _check(page: Page, label: str, titles: dict[str, str]) -> None:
    expect(page.locator("h1")).to_have_count(1)
    title = page.title()
    assert title.endswith(" \u2013 Reachable"), title
    assert title not in titles, f"{label} repeats the title of {titles.get(title)}: {title}"
    titles[title] = label
    axe_check(page, label)


def test_every_page_type_passes_axe(site: Site) -> None:
    custody = site.submit_event(custody_event(record="CUST-AXE-1",
                                              at=clock.now() - timedelta(minutes=10)))
    site.submit_event(custody_event(record="CUST-AXE-2", given="Kai", family="Example",
                                    dob="2010-05-05", nhs=None,
                                    at=clock.now() - timedelta(minutes=80)))
    pk = int(custody["person"].removeprefix("P-"))
    school_pk = _school_child(site)
    alert = Alert.objects.filter(person_id=pk).get()
    titles: dict[str, str] = {}

    page = site.page()
    page.goto("/sign-in")
    _check(page, "sign-in", titles)
    page.get_by_role("button", name="Sign in").click()  # empty: the error state
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    axe_check(page, "sign-in with errors")

    # A social worker uses emergency access so that the MASH manager has a notification.
    sw = site.page()
    site.sign_in(sw, "social-worker")
    sw.goto(f"/people/{school_pk}/emergency-access")
    _check(sw, "emergency access", titles)
    sw.get_by_label("Why do you need access now?").fill("too short")
    sw.get_by_role("button", name=re.compile("Open the record")).click()
    expect(sw.locator(".govuk-error-summary")).to_be_visible()
    axe_check(sw, "emergency access with errors")
    sw.goto(f"/people/{pk}/emergency-access")
    sw.get_by_label("Why do you need access now?").fill(
        "Child reported missing tonight and the case team cannot be reached")
    sw.get_by_role("button", name=re.compile("Open the record")).click()
    expect(sw.locator(".govuk-warning-text")).to_contain_text("emergency access")
    sw.context.close()

    site.sign_in(page, "mash-manager")
    _check(page, "home", titles)
    page.goto("/people?q=nowak")
    expect(page.get_by_role("link", name="Tomasz Nowak")).to_be_visible()
    _check(page, "search with results", titles)
    page.goto(f"/people/{pk}")
    _check(page, "person", titles)
    page.goto("/alerts")
    expect(page.get_by_role("timer")).to_have_count(2)
    expect(page.locator(".app-countdown--overdue")).to_have_count(1)
    _check(page, "queue", titles)
    page.goto(f"/alerts/{alert.pk}")
    _check(page, "alert", titles)
    page.goto(f"/people/{pk}/viewers")
    expect(page.get_by_role("table")).to_contain_text("Emergency access")
    _check(page, "who viewed", titles)
    page.goto("/notifications")
    expect(page.locator("#notifications")).to_contain_text(
        f"Emergency access to {custody['person']}")
    _check(page, "notifications", titles)
    page.goto(f"/people/{school_pk + 500}")
    _check(page, "404", titles)
    page.goto("/people?q=nobody-at-all")
    expect(page.get_by_role("heading", name="No children found")).to_be_visible()
    axe_check(page, "search without results")

    ig = site.page()
    site.sign_in(ig, "ig-officer")
    ig.goto("/people")
    _check(ig, "403", titles)
    assert site.errors == []


def test_search_and_not_found_do_not_leak_children(site: Site) -> None:
    custody = site.submit_event(custody_event(record="CUST-LEAK-1",
                                              at=clock.now() - timedelta(minutes=5)))
    school_pk = _school_child(site)
    page = site.page()
    site.sign_in(page, "mash-practitioner")

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Find a child").click()
    page.get_by_label("Name, date of birth or identifier").fill("o")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("table")
    expect(results).to_contain_text("Tomasz Nowak")
    expect(results).not_to_contain_text("Okafor")
    page.get_by_label("Name, date of birth or identifier").fill("Amara Okafor")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="No children found")).to_be_visible()
    assert custody["person"] not in page.content()

    def not_found_text(person_id: int) -> str:
        response = page.goto(f"/people/{person_id}")
        assert response is not None and response.status == 404
        text = page.locator("main").inner_text()
        return text

    forbidden = not_found_text(school_pk)
    missing = not_found_text(school_pk + 777)
    assert forbidden == missing
    assert "Page not found" in forbidden and "Ask for emergency access" in forbidden
    assert page.title() == "Page not found \u2013 Reachable"
    assert site.errors == []
