"""The queue pages with the MOJ filter, the alert's provenance and evidence, and the rules
page."""

from __future__ import annotations

import re

from reachable.organisations.models import Role
from reachable.rules.models import Alert
from reachable.rules.registry import all_rules
from tests.borough import Borough
from tests.web.helpers import child_in_custody, signed_in


def test_team_queue_filters_show_selected_tags_that_remove_themselves(borough: Borough) -> None:
    child_in_custody(borough)
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    html = client.get("/alerts?severity=amber&rule=golden-hour").content.decode()
    assert "No alerts match these filters." in html
    tags = dict((label.strip(), href) for href, label in re.findall(
        r'<a class="moj-filter__tag" href="([^"]+)"><span class="govuk-visually-hidden">'
        r"Remove this filter</span>([^<]+)</a>", html))
    assert set(tags) == {"Amber", "golden-hour"}
    without_amber = client.get(tags["Amber"].replace("&amp;", "&")).content.decode()
    assert "data-alert-id" in without_amber


def test_personal_queue_lists_taken_alerts(borough: Borough) -> None:
    child_in_custody(borough)
    alert = Alert.objects.get()
    client = signed_in(borough.users[Role.MASH_PRACTITIONER])
    assert f'data-alert-id="{alert.pk}"' not in client.get("/alerts/mine").content.decode()
    response = client.post(f"/alerts/{alert.pk}/assign", {})
    assert response.status_code == 302
    assert f'data-alert-id="{alert.pk}"' in client.get("/alerts/mine").content.decode()


def test_alert_page_shows_rule_provenance_and_trigger(borough: Borough) -> None:
    child_in_custody(borough)
    alert = Alert.objects.get()
    html = signed_in(borough.users[Role.MASH_PRACTITIONER]).get(
        f"/alerts/{alert.pk}").content.decode()
    assert "Why this alert was raised" in html
    assert "CC-F2" in html and "Operation Harbinger" in html
    assert "Metropolitan Police" in html  # the triggering event's source agency


def test_reroute_without_a_team_shows_the_error(borough: Borough) -> None:
    child_in_custody(borough)
    alert = Alert.objects.get()
    response = signed_in(borough.users[Role.MASH_PRACTITIONER]).post(
        f"/alerts/{alert.pk}/reroute", {"reason": "wrong team"})
    assert response.status_code == 400
    assert "Choose the team to send this alert to." in response.content.decode()


def test_rules_page_lists_every_rule_with_provenance_and_30_day_counts(
    borough: Borough,
) -> None:
    child_in_custody(borough)
    html = signed_in(borough.users[Role.PARTNERSHIP_MANAGER]).get("/rules").content.decode()
    for rule in all_rules():
        assert f'id="rule-{rule.id}"' in html
    row = re.search(r'id="rule-golden-hour".*?</tr>', html, re.S)
    assert row is not None
    counts = re.findall(r'govuk-table__cell--numeric">(\d+)<', row.group(0))
    assert counts == ["1", "0"]
