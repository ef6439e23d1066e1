"""The golden hour in a real browser: custody booking through the API, the MASH queue with a
ticking countdown, acknowledgement by keyboard, and the clock met on the child's page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from reachable.core import clock
from tests.borough import custody_event
from tests.browser.conftest import SCREENS, Site

pytestmark = pytest.mark.browser


def test_golden_hour_flow(site: Site) -> None:
    booked = clock.now() - timedelta(minutes=3)
    result = site.submit_event(custody_event(record="CUST-LIVE-1", at=booked))
    assert len(result["alerts"]) == 1, result

    page = site.page()
    site.sign_in(page, "mash-practitioner")

    # The stylesheet really loads under the live server (GOV.UK width container is 960px).
    assert page.evaluate(
        "getComputedStyle(document.querySelector('.govuk-width-container')).maxWidth"
    ) == "960px"
    assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Team alerts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team alerts")
    timer = page.get_by_role("timer").first
    expect(timer).to_have_attribute("aria-live", "off")
    first = timer.inner_text()
    assert re.fullmatch(r"5[67] minutes( \d+ seconds?)? left", first), first
    expect(timer).not_to_have_text(first, timeout=3000)  # it ticks
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "queue.png"), full_page=True)

    # Open the alert with the keyboard.
    link = page.get_by_role("link", name=re.compile("Booked into custody"))
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Booked into custody by met")

    # Submitting with nothing shared is refused, with the error summary focused (htmx swap).
    page.get_by_role("button", name="Acknowledge alert").focus()
    page.keyboard.press("Enter")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: Alert \d+ for P-\d{6} \u2013 Reachable$"))
    expect(page.get_by_role("link", name=re.compile("Say what information"))).to_be_visible()
    page.screenshot(path=str(SCREENS / "alert-error.png"), full_page=True)

    # Follow the error link to the field, then complete the form by keyboard.
    page.get_by_role("link", name=re.compile("Say what information")).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Information shared")).to_be_focused()
    page.keyboard.type("Custody record and arrest details shared with MASH social worker")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Outcome (optional)")).to_be_focused()
    page.keyboard.type("Strategy discussion arranged")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Acknowledge alert")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Alert acknowledged")

    page.get_by_role("link", name="Tomasz Nowak").click()
    clocks = page.locator("tr[data-clock-status]")
    expect(clocks).to_have_count(1)
    expect(clocks.first).to_have_attribute("data-clock-status", "met")
    expect(clocks.first.locator(".govuk-tag")).to_have_text("Met")
    timeline = page.locator(".moj-timeline__item")
    expect(timeline.first).to_contain_text("Custody booked")
    expect(timeline.first).to_contain_text("by Metropolitan Police")
    page.screenshot(path=str(SCREENS / "child.png"), full_page=True)
    assert site.errors == []
