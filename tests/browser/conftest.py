"""Browser tests: one chromium per session (Playwright's sync API) against pytest-django's
live server, on a transactional database so the server thread sees the test's rows."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.borough import PASSWORD, Borough, build_borough

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse ORM
# calls made from the test body ("SynchronousOnlyOperation").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENS = Path("/tmp/screens")  # noqa: S108 (screenshots for people to look at)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class Site:
    """The live server plus helpers a test needs to drive it like a person would."""

    url: str
    browser: Browser
    borough: Borough
    errors: list[str] = field(default_factory=list)

    def page(self) -> Page:
        context = self.browser.new_context(base_url=self.url, locale="en-GB",
                                           timezone_id="Europe/London")
        page = context.new_page()
        page.set_default_timeout(10_000)

        def on_console(msg: ConsoleMessage) -> None:
            expected = "Failed to load resource: the server responded with a status of 4"
            if msg.type == "error" and not msg.text.startswith(expected):
                self.errors.append(f"console: {msg.text} ({page.url})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc} ({page.url})"))
        return page

    def sign_in(self, page: Page, username: str) -> None:
        """Keyboard only: type into the labelled fields and press Enter."""
        page.goto("/sign-in")
        page.get_by_label("Username").focus()
        page.keyboard.type(username)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.rstrip("/") == self.url.rstrip("/"), page.url

    def submit_event(self, payload: dict[str, Any], agency: str = "met-police") -> Any:
        """Through the real API with the agency's real token, as an agency system would."""
        self.borough.system_for(agency)
        request = urllib.request.Request(  # noqa: S310 (the live server, http only)
            f"{self.url}/api/v1/events", data=json.dumps(payload).encode(), method="POST",
            headers={"Authorization": f"Token {self.borough.tokens[agency]}",
                     "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            assert response.status == 201
            return json.loads(response.read())


@pytest.fixture
def site(transactional_db: None, live_server: Any, browser: Browser) -> Site:
    return Site(url=live_server.url, browser=browser, borough=build_borough())


def axe_check(page: Page, label: str) -> None:
    """Run axe-core on the page; fail listing every WCAG 2.2 AA violation found."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_TAGS,
    )
    violations = result["violations"]
    message = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    "
        + "\n    ".join(n["html"][:200] for n in v["nodes"][:5])
        for v in violations
    )
    assert not violations, f"axe found WCAG violations on {label} ({page.url}):\n{message}"
