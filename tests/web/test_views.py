"""Web views through Django's test client: sign-in, scoping, the golden-hour acknowledgement,
break-glass, "who viewed", and the GOV.UK error pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.test import Client

from reachable import settings as base_settings
from reachable.access.models import Notification
from reachable.audit.models import AuditRecord
from reachable.core import clock
from reachable.organisations.models import Role
from reachable.rules.models import Alert, AlertStatus, Clock, ClockStatus
from reachable.web.presentation import duration_words, remaining_words
from tests.borough import PASSWORD, Borough
from tests.web.helpers import (
    child_in_custody,
    child_known_to_education,
    person_id,
    signed_in,
)

DASH = "\u2013"  # titles read "Page - Reachable" with an en dash, as on GOV.UK
PAGES = ["/", "/people?q=x", "/people/1", "/people/1/emergency-access", "/people/1/viewers",
         "/alerts", "/alerts/1", "/notifications"]


def _h1s(html: str) -> list[str]:
    return re.findall(r"<h1\b", html)


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1).strip()


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_anonymous_users_are_sent_to_sign_in(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in?next=")


def test_sign_in_page_is_a_govuk_page(db: None) -> None:
    response = Client().get("/sign-in")
    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/govuk/govuk-frontend.min.css" in html
    assert 'class="govuk-skip-link"' in html
    assert len(_h1s(html)) == 1
    assert _title(html) == f"Sign in {DASH} Reachable"
    assert '<label class="govuk-label govuk-label--s" for="id_username">' in html
    assert '<label class="govuk-label govuk-label--s" for="id_password">' in html


def test_sign_in_then_sign_out(borough: Borough) -> None:
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    home = client.get("/")
    assert home.status_code == 200
    assert "Hello, Mash Tester" in home.content.decode()
    # Sign-out is a POST: a GET must not sign anyone out.
    assert client.get("/sign-out").status_code == 405
    out = client.post("/sign-out")
    assert out.status_code == 302 and out["Location"] == "/sign-in"
    assert client.get("/").status_code == 302


def test_wrong_password_shows_error_summary(borough: Borough) -> None:
    response = Client().post("/sign-in", {"username": "mash-practitioner", "password": "nope"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="govuk-error-summary"' in html
    assert _title(html).startswith("Error: ")
    assert "Enter a correct username and password" in html


def test_failed_sign_ins_are_throttled_after_five(borough: Borough) -> None:
    client = Client()
    statuses = [
        client.post("/sign-in", {"username": "social-worker", "password": f"wrong-{i}"})
        .status_code for i in range(5)
    ]
    assert statuses[:4] == [200, 200, 200, 200]
    assert statuses[4] == 429
    # Locked: even the right password is refused, with the GOV.UK lockout page.
    locked = client.post("/sign-in", {"username": "social-worker", "password": PASSWORD})
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Sign-in paused" in html and len(_h1s(html)) == 1
    assert "/static/govuk/govuk-frontend.min.css" in html
    # Another user from the same address is not locked out (username + address).
    other = client.post("/sign-in", {"username": "mash-practitioner", "password": PASSWORD})
    assert other.status_code == 302


def test_passwords_are_stored_with_argon2(borough: Borough) -> None:
    user = borough.users[Role.MASH_PRACTITIONER]
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert check_password(PASSWORD, user.password)
    assert base_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )
    assert "argon2" in settings.PASSWORD_HASHERS[0].lower()


def test_search_shows_only_children_the_user_may_open(borough: Borough) -> None:
    custody = child_in_custody(borough, given="Zoë", family="Núñez")
    school = child_known_to_education(borough)
    mash = signed_in(borough.users[Role.MASH_PRACTITIONER])

    found = mash.get("/people", {"q": "ZOE nunez"}).content.decode()
    assert f'href="/people/{person_id(custody)}"' in found
    assert "1 child found" in found

    hidden = mash.get("/people", {"q": "Amara Okafor"}).content.decode()
    assert "No children found" in hidden
    assert f"/people/{person_id(school)}" not in hidden
    assert mash.get("/people", {"q": "03/02/2012"}).content.decode().count("/people/") == 0

    education = signed_in(borough.users[Role.EDUCATION_LIAISON])
    seen = education.get("/people", {"q": "okafor"}).content.decode()
    assert f'href="/people/{person_id(school)}"' in seen
    assert f"/people/{person_id(custody)}" not in seen


def test_search_by_identifier_and_date_of_birth(borough: Borough) -> None:
    custody = child_in_custody(borough)
    mash = signed_in(borough.users[Role.MASH_PRACTITIONER])
    link = f'href="/people/{person_id(custody)}"'
    assert link in mash.get("/people", {"q": "943 476 5919"}).content.decode()
    assert link in mash.get("/people", {"q": "19/07/2011"}).content.decode()
    assert link in mash.get("/people", {"q": custody["person"]}).content.decode()


@pytest.mark.parametrize("role", [Role.PARTNERSHIP_MANAGER, Role.IG_OFFICER])
def test_roles_without_record_access_cannot_search(borough: Borough, role: str) -> None:
    response = signed_in(borough.users[role]).get("/people", {"q": "Nowak"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "You cannot use this page" in html and len(_h1s(html)) == 1


def test_forbidden_child_is_the_same_not_found_as_a_missing_one(borough: Borough) -> None:
    school = child_known_to_education(borough)
    forbidden_id = person_id(school)
    missing_id = forbidden_id + 1000
    mash = signed_in(borough.users[Role.MASH_PRACTITIONER])
    forbidden = mash.get(f"/people/{forbidden_id}")
    missing = mash.get(f"/people/{missing_id}")
    assert forbidden.status_code == missing.status_code == 404

    def scrub(html: str, pk: int) -> str:
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        return html.replace(f"/people/{pk}/", "/people/ID/")

    assert scrub(forbidden.content.decode(), forbidden_id) == scrub(
        missing.content.decode(), missing_id)
    assert "Ask for emergency access" in forbidden.content.decode()
    # Nothing about the forbidden child was written to the audit log as a view.
    assert not AuditRecord.objects.filter(action="person.viewed", person_id=forbidden_id)


def test_person_page_shows_chronology_alerts_and_clocks(borough: Borough) -> None:
    custody = child_in_custody(borough)
    pk = person_id(custody)
    response = signed_in(borough.users[Role.MASH_PRACTITIONER]).get(f"/people/{pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert len(_h1s(html)) == 1 and _title(html) == (
        f"Child record {custody['person']} {DASH} Reachable")
    assert 'class="moj-timeline"' in html
    assert "Custody booked" in html and "by Metropolitan Police" in html
    assert "NHS number: 9434765919" in html
    assert 'data-clock-status="open"' in html and 'role="timer"' in html
    assert AuditRecord.objects.filter(action="person.viewed", person_id=pk).count() == 1


def test_sealed_fields_and_withheld_entries(borough: Borough) -> None:
    custody = child_in_custody(borough)
    subject = {"given_name": "Tomasz", "family_name": "Nowak", "date_of_birth": "2011-07-19",
               "nhs_number": "9434765919"}
    for agency, record, informant in [("csc", "CONTACT-1", "Ann Example"),
                                      ("met-police", "CONTACT-2", "Bob Example")]:
        borough.submit({
            "type": "contact.received", "occurred_at": clock.now().isoformat(),
            "source": {"agency": agency, "record": record}, "subject": subject,
            "data": {"narrative": "Neighbour worried", "informant_name": informant},
        })
    pk = person_id(custody)
    mash = signed_in(borough.users[Role.MASH_PRACTITIONER]).get(f"/people/{pk}")
    assert "Ann Example" in mash.content.decode() and "Bob Example" in mash.content.decode()
    police = signed_in(borough.users[Role.POLICE_LIAISON]).get(f"/people/{pk}")
    html = police.content.decode()
    assert police.status_code == 200
    # Their own agency's contact is shown with the informant sealed; the council's is withheld.
    assert "Bob Example" not in html and "Ann Example" not in html
    assert '<span class="app-sealed">[sealed]</span>' in html
    assert "1 entry is withheld from you" in html


def test_queue_renders_countdowns_readable_without_javascript(borough: Borough) -> None:
    child_in_custody(borough, minutes_ago=5)
    child_in_custody(borough, record="CUST-2", minutes_ago=90, given="Kai", family="Example",
                     dob="2010-01-01", nhs=None)
    response = signed_in(borough.users[Role.MASH_PRACTITIONER]).get("/alerts")
    html = response.content.decode()
    assert response.status_code == 200
    timers = re.findall(r'<span class="app-countdown[^"]*" role="timer" aria-live="off" '
                        r'data-deadline="([^"]+)">([^<]+)</span>', html)
    assert len(timers) == 2
    texts = [t[1] for t in timers]
    assert texts[0].startswith("Overdue by 30 minutes")  # oldest first
    assert re.fullmatch(r"(54|55) minutes( \d+ seconds?)? left", texts[1])


@pytest.mark.parametrize("role", [Role.SOCIAL_WORKER, Role.IG_OFFICER, Role.PARTNERSHIP_MANAGER])
def test_queue_is_for_queue_roles_only(borough: Borough, role: str) -> None:
    # A social worker has the activity; others do not.
    expected = 200 if role == Role.SOCIAL_WORKER else 403
    assert signed_in(borough.users[role]).get("/alerts").status_code == expected


def test_acknowledge_without_information_is_refused_with_error_summary(
    borough: Borough,
) -> None:
    child_in_custody(borough)
    alert = Alert.objects.get()
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    response = client.post(f"/alerts/{alert.pk}/acknowledge",
                           {"information_shared": "   ", "outcome": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'class="govuk-error-summary"' in html
    assert '<a href="#id_information_shared">Say what information was shared' in html
    assert "govuk-textarea--error" in html
    assert _title(html).startswith("Error: ")
    assert Alert.objects.get().status == AlertStatus.OPEN


def test_acknowledge_errors_with_htmx_return_the_form_fragment(borough: Borough) -> None:
    child_in_custody(borough)
    alert = Alert.objects.get()
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    response = client.post(f"/alerts/{alert.pk}/acknowledge", {"information_shared": ""},
                           HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 400
    assert html.lstrip().startswith('<div id="acknowledge">')
    assert "<html" not in html and 'class="govuk-error-summary"' in html


def test_acknowledge_meets_the_golden_hour_clock(borough: Borough) -> None:
    custody = child_in_custody(borough)
    alert = Alert.objects.get()
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    response = client.post(f"/alerts/{alert.pk}/acknowledge", {
        "information_shared": "Custody record shared with the MASH social worker",
        "outcome": "Strategy discussion",
    })
    assert response.status_code == 302 and response["Location"] == f"/alerts/{alert.pk}"
    page = client.get(response["Location"]).content.decode()
    assert "Alert acknowledged" in page and "govuk-notification-banner--success" in page
    assert Clock.objects.get().status == ClockStatus.MET
    person_page = client.get(f"/people/{person_id(custody)}").content.decode()
    assert 'data-clock-status="met"' in person_page
    # A second acknowledgement is refused politely.
    again = client.post(f"/alerts/{alert.pk}/acknowledge", {"information_shared": "again"})
    assert again.status_code == 400
    assert "already been acknowledged" in again.content.decode()


def test_acknowledge_with_htmx_redirects_the_page(borough: Borough) -> None:
    child_in_custody(borough)
    alert = Alert.objects.get()
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    response = client.post(f"/alerts/{alert.pk}/acknowledge",
                           {"information_shared": "Shared by phone with DS Example"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/alerts/{alert.pk}"


def test_alert_of_another_team_is_not_found(borough: Borough) -> None:
    child_in_custody(borough)
    alert = Alert.objects.get()
    sw = signed_in(borough.users[Role.SOCIAL_WORKER])
    assert sw.get(f"/alerts/{alert.pk}").status_code == 404
    ack = sw.post(f"/alerts/{alert.pk}/acknowledge", {"information_shared": "x"})
    assert ack.status_code == 404
    assert Alert.objects.get().status == AlertStatus.OPEN


def test_break_glass_flow(borough: Borough) -> None:
    school = child_known_to_education(borough)
    child_in_custody(borough, record="CUST-9", given="Amara", family="Okafor",
                     dob="2012-02-03", nhs=None)  # same child: now the MASH holds the case
    pk = person_id(school)
    sw = signed_in(borough.users[Role.SOCIAL_WORKER])
    assert sw.get(f"/people/{pk}").status_code == 404
    assert sw.get(f"/people/{pk + 999}/emergency-access").status_code == 200

    short = sw.post(f"/people/{pk}/emergency-access", {"reason": "urgent"})
    assert short.status_code == 400
    assert 'class="govuk-error-summary"' in short.content.decode()

    reason = "Police report the child missing tonight; case team unreachable"
    assert sw.post(f"/people/{pk + 999}/emergency-access", {"reason": reason}
                   ).status_code == 404
    granted = sw.post(f"/people/{pk}/emergency-access", {"reason": reason})
    assert granted.status_code == 302 and granted["Location"] == f"/people/{pk}"
    page = sw.get(f"/people/{pk}").content.decode()
    assert "You are using emergency access" in page

    manager = signed_in(borough.users[Role.MASH_MANAGER])
    notes = manager.get("/notifications").content.decode()
    assert f"Emergency access to P-{pk:06d}" in notes
    assert Notification.objects.filter(recipient=borough.users[Role.MASH_MANAGER]).count() == 1
    assert "Mark all as read" in notes and ">New<" in notes

    # Marking read touches only one's own notifications, and is audited.
    practitioner = borough.users[Role.MASH_PRACTITIONER]
    Notification.objects.create(recipient=practitioner, subject="For someone else", body="b",
                                created_at=clock.now())
    done = manager.post("/notifications/read", follow=True).content.decode()
    assert "1 notification marked as read." in done
    assert ">New<" not in done and "Mark all as read" not in done
    assert Notification.objects.get(recipient=practitioner).read_at is None
    assert AuditRecord.objects.filter(action="notifications.read",
                                      actor_id=borough.users[Role.MASH_MANAGER].pk).count() == 1
    again = manager.post("/notifications/read", follow=True).content.decode()
    assert "You had no unread notifications." in again


@pytest.mark.parametrize("role", [Role.IG_OFFICER, Role.PARTNERSHIP_MANAGER])
def test_break_glass_needs_the_activity(borough: Borough, role: str) -> None:
    client = signed_in(borough.users[role])
    assert client.get("/people/1/emergency-access").status_code == 403
    assert client.post("/people/1/emergency-access",
                       {"reason": "x" * 40}).status_code == 403


def test_who_viewed_this_record(borough: Borough) -> None:
    custody = child_in_custody(borough)
    pk = person_id(custody)
    signed_in(borough.users[Role.MASH_PRACTITIONER]).get(f"/people/{pk}")
    manager = signed_in(borough.users[Role.MASH_MANAGER]).get(f"/people/{pk}/viewers")
    html = manager.content.decode()
    assert manager.status_code == 200
    assert "mash-practitioner (mash_practitioner)" in html
    assert "MASH screening" in html
    ig = signed_in(borough.users[Role.IG_OFFICER]).get(f"/people/{pk}/viewers")
    assert ig.status_code == 200
    assert signed_in(borough.users[Role.MASH_PRACTITIONER]).get(
        f"/people/{pk}/viewers").status_code == 404
    assert signed_in(borough.users[Role.IG_OFFICER]).get(
        f"/people/{pk + 999}/viewers").status_code == 404


def test_unknown_page_is_a_govuk_404(borough: Borough) -> None:
    response = signed_in(borough.users[Role.MASH_PRACTITIONER]).get("/no-such-page")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html and "govuk-frontend.min.css" in html


@pytest.mark.urls("tests.web.urls_failing")
def test_a_failure_is_a_govuk_500_that_needs_nothing_from_the_database(
    borough: Borough,
) -> None:
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    client.raise_request_exception = False
    response = client.get("/failing")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in html
    assert "govuk-frontend.min.css" in html and 'id="main-content"' in html
    assert "the database went away" not in html  # no internals shown
    assert borough.users[Role.MASH_PRACTITIONER].username not in html  # no request context


def test_navigation_follows_the_role(borough: Borough) -> None:
    mash = signed_in(borough.users[Role.MASH_PRACTITIONER]).get("/").content.decode()
    assert 'href="/alerts"' in mash and 'href="/people"' in mash
    ig = signed_in(borough.users[Role.IG_OFFICER]).get("/").content.decode()
    assert 'href="/alerts"' not in ig and 'href="/people"' not in ig
    assert 'action="/sign-out"' in ig


def test_duration_words() -> None:
    assert duration_words(timedelta(seconds=0)) == "0 seconds"
    assert duration_words(timedelta(seconds=61)) == "1 minute 1 second"
    assert duration_words(timedelta(hours=1, seconds=5)) == "1 hour 5 seconds"
    assert duration_words(timedelta(days=2, hours=3, seconds=9)) == "2 days 3 hours"
    now = clock.now()
    assert remaining_words(now + timedelta(minutes=5), now) == ("5 minutes left", False)
    assert remaining_words(now - timedelta(minutes=5), now) == ("Overdue by 5 minutes", True)
