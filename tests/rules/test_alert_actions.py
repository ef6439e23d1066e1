"""Routing work: take or assign an alert (personal queue), re-route it to another team,
escalate it to the manager. Each is audited, refused with field errors, and scoped."""

from __future__ import annotations

import pytest

from reachable.access.models import Notification
from reachable.access.policies import PersonPolicy
from reachable.audit.models import AuditRecord
from reachable.core.errors import NotFound, ValidationFailed
from reachable.organisations.models import Role
from reachable.organisations.services import user_create
from reachable.records.queues import AlertFilters, alert_queue
from reachable.rules.models import Alert
from reachable.rules.services import alert_acknowledge, alert_assign, alert_escalate, alert_reroute
from tests.borough import Borough
from tests.web.helpers import child_in_custody


def _alert(borough: Borough) -> Alert:
    child_in_custody(borough)
    return Alert.objects.get(rule_id="golden-hour")


def test_taking_an_alert_puts_it_in_my_queue_only(borough: Borough) -> None:
    alert = _alert(borough)
    me = borough.users[Role.MASH_PRACTITIONER]
    manager = borough.users[Role.MASH_MANAGER]
    assert alert_queue(actor=me, mine=True) == []
    alert_assign(actor=me, alert_id=alert.pk)
    assert [a.pk for a in alert_queue(actor=me, mine=True)] == [alert.pk]
    assert alert_queue(actor=manager, mine=True) == []
    assert [a.pk for a in alert_queue(actor=manager)] == [alert.pk]  # still the team's
    record = AuditRecord.objects.filter(action="alert.assigned").get()
    assert record.detail["to"] == me.pk and record.person_id == alert.person_id


def test_assigning_to_someone_outside_the_team_is_refused(borough: Borough) -> None:
    alert = _alert(borough)
    outsider = borough.users[Role.SOCIAL_WORKER]
    with pytest.raises(ValidationFailed) as refused:
        alert_assign(actor=borough.users[Role.MASH_MANAGER], alert_id=alert.pk,
                     assignee_id=outsider.pk)
    assert "assignee" in refused.value.errors
    assert Alert.objects.get().assignee is None


def test_assignee_outside_the_team_sees_it_after_assignment_by_the_team(
    borough: Borough,
) -> None:
    alert = _alert(borough)
    colleague = user_create(actor=None, username="mash-two", password=None,
                            role=Role.MASH_PRACTITIONER, agency=borough.agencies["csc"],
                            team=borough.teams["mash"])
    alert_assign(actor=borough.users[Role.MASH_MANAGER], alert_id=alert.pk,
                 assignee_id=colleague.pk)
    assert [a.pk for a in alert_queue(actor=colleague, mine=True)] == [alert.pk]


def test_reroute_moves_the_alert_and_opens_the_record_to_the_new_team(borough: Borough) -> None:
    alert = _alert(borough)
    mash = borough.users[Role.MASH_PRACTITIONER]
    exploitation = borough.users[Role.EXPLOITATION_COORDINATOR]
    assert not PersonPolicy.can_view(exploitation, alert.person_id)
    with pytest.raises(ValidationFailed) as refused:
        alert_reroute(actor=mash, alert_id=alert.pk, team_id=borough.teams["exploitation"].pk,
                      reason="  ")
    assert set(refused.value.errors) == {"reason"}
    alert_reroute(actor=mash, alert_id=alert.pk, team_id=borough.teams["exploitation"].pk,
                  reason="Known to the exploitation team; they lead on this child.")
    alert.refresh_from_db()
    assert alert.team == borough.teams["exploitation"] and alert.assignee is None
    assert PersonPolicy.can_view(exploitation, alert.person_id)
    assert [a.pk for a in alert_queue(actor=exploitation)] == [alert.pk]
    # The MASH no longer has it in its queue, and can no longer act on it.
    assert alert_queue(actor=mash) == []
    with pytest.raises(NotFound):
        alert_reroute(actor=mash, alert_id=alert.pk, team_id=borough.teams["mash"].pk,
                      reason="back")
    assert AuditRecord.objects.filter(action="alert.rerouted").get().detail["to"] == "exploitation"


def test_escalate_notifies_the_manager_or_says_there_is_none(borough: Borough) -> None:
    alert = _alert(borough)
    mash = borough.users[Role.MASH_PRACTITIONER]
    team = borough.teams["mash"]
    if team.manager is None:
        with pytest.raises(ValidationFailed):
            alert_escalate(actor=mash, alert_id=alert.pk, reason="Needs a decision")
        team.manager = borough.users[Role.MASH_MANAGER]
        team.save()
    with pytest.raises(ValidationFailed) as refused:
        alert_escalate(actor=mash, alert_id=alert.pk, reason="")
    assert "reason" in refused.value.errors
    alert_escalate(actor=mash, alert_id=alert.pk, reason="Child released at 02:00; no plan.")
    alert.refresh_from_db()
    assert alert.escalated_at is not None
    note = Notification.objects.get(recipient=team.manager)
    assert "Child released at 02:00" in note.body
    assert AuditRecord.objects.filter(action="alert.escalated").exists()


def test_actions_on_an_acknowledged_alert_are_refused(borough: Borough) -> None:
    alert = _alert(borough)
    mash = borough.users[Role.MASH_PRACTITIONER]
    alert_acknowledge(actor=mash, alert_id=alert.pk, information_shared="Shared with the SW.")
    with pytest.raises(ValidationFailed):
        alert_assign(actor=mash, alert_id=alert.pk)


def test_queue_filters(borough: Borough) -> None:
    child_in_custody(borough)
    mash = borough.users[Role.MASH_PRACTITIONER]
    assert len(alert_queue(actor=mash, filters=AlertFilters(severities=frozenset({"red"})))) == 1
    assert alert_queue(actor=mash, filters=AlertFilters(severities=frozenset({"amber"}))) == []
    assert alert_queue(actor=mash, filters=AlertFilters(rule="ed-violence")) == []
    assert len(alert_queue(actor=mash, filters=AlertFilters(rule="golden-hour"))) == 1
    assert alert_queue(actor=mash, filters=AlertFilters(overdue=True)) == []
    parsed = AlertFilters.from_query({"status": ["bogus"], "severity": ["red", "purple"],
                                      "rule": ["no-such-rule"], "overdue": ["yes"]})
    assert parsed == AlertFilters(status="open", severities=frozenset({"red"}), rule="",
                                  overdue=True)
