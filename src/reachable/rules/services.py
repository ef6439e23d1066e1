"""Practitioner actions on alerts."""

from __future__ import annotations

from django.db import transaction

from reachable.access.models import GrantReason
from reachable.access.notifications import notification_send
from reachable.access.services import relationship_grant
from reachable.audit.services import audit_append
from reachable.core import clock
from reachable.core.errors import NotFound, ValidationFailed
from reachable.organisations.models import Team, User
from reachable.rules.engine import close_clocks
from reachable.rules.models import Alert, AlertStatus
from reachable.rules.policies import AlertPolicy, access_alert
from reachable.rules.registry import ACKNOWLEDGED, get_rule


@transaction.atomic
def alert_acknowledge(
    *, actor: User, alert_id: int, information_shared: str, outcome: str = ""
) -> Alert:
    """Acknowledge an alert with what was shared; this meets the clocks it closes."""
    alert = access_alert(actor, alert_id)
    if not AlertPolicy.can_acknowledge(actor, alert):
        raise NotFound("No such alert.")
    information_shared = (information_shared or "").strip()
    outcome = (outcome or "").strip()
    rule = get_rule(alert.rule_id)
    spec = rule.effective_clock() if rule is not None else None
    if spec is not None and ACKNOWLEDGED in spec.met_by:
        # The acknowledgement IS the response the clock times: say what was shared.
        if not information_shared:
            raise ValidationFailed(
                {"information_shared": ["Say what information was shared, and with whom."]}
            )
    elif not (information_shared or outcome):
        raise ValidationFailed({"outcome": ["Say what was done about this alert."]})
    if alert.status != AlertStatus.OPEN:
        raise ValidationFailed({"non_field_errors": ["This alert has already been acknowledged."]})
    now = clock.now()
    updated = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=actor,
        information_shared=information_shared, outcome=outcome,
    )
    if not updated:  # someone else got there first, between our read and our write
        raise ValidationFailed({"non_field_errors": ["This alert has already been acknowledged."]})
    alert.refresh_from_db()
    met = close_clocks(person=alert.person, closing=ACKNOWLEDGED, at=now, alert=alert)
    audit_append(
        actor=actor, action="alert.acknowledged", object_type="alert", object_id=alert.pk,
        person_id=alert.person_id,
        detail={"rule": alert.rule_id, "information_shared": information_shared,
                "outcome": outcome, "clocks_met": [c.pk for c in met]},
    )
    return alert


def _actionable(actor: User, alert_id: int) -> Alert:
    alert = access_alert(actor, alert_id)
    if not AlertPolicy.can_act(actor, alert):
        raise NotFound("No such alert.")
    if alert.status != AlertStatus.OPEN:
        raise ValidationFailed({"non_field_errors": ["This alert has already been acknowledged."]})
    return alert


@transaction.atomic
def alert_assign(*, actor: User, alert_id: int, assignee_id: int | None = None) -> Alert:
    """Put an alert in someone's personal queue: the actor's own, or a member of its team."""
    alert = _actionable(actor, alert_id)
    if assignee_id is None or assignee_id == actor.pk:
        assignee = actor
    else:
        found = User.objects.filter(pk=assignee_id, is_active=True).first()
        if found is None or alert.team_id is None or found.team_id != alert.team_id:
            raise ValidationFailed({"assignee": ["Choose a member of the team the alert is for."]})
        assignee = found
    previous = alert.assignee_id
    Alert.objects.filter(pk=alert.pk).update(assignee=assignee)
    alert.refresh_from_db()
    if assignee.pk != actor.pk:
        relationship_grant(person=alert.person, user=assignee, reason=GrantReason.ALERT_ROUTED,
                           source=f"alert:{alert.pk}")
    audit_append(actor=actor, action="alert.assigned", object_type="alert", object_id=alert.pk,
                 person_id=alert.person_id,
                 detail={"rule": alert.rule_id, "from": previous, "to": assignee.pk})
    return alert


@transaction.atomic
def alert_reroute(*, actor: User, alert_id: int, team_id: int, reason: str) -> Alert:
    """Send an alert to another team's queue (it was routed to the wrong place)."""
    alert = _actionable(actor, alert_id)
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        errors["team"] = ["Choose the team to send this alert to."]
    elif team.pk == alert.team_id:
        errors["team"] = ["The alert is already with this team."]
    if not reason:
        errors["reason"] = ["Say why the alert is going to another team."]
    if errors:
        raise ValidationFailed(errors)
    assert team is not None
    previous = alert.team
    Alert.objects.filter(pk=alert.pk).update(team=team, assignee=None)
    alert.refresh_from_db()
    relationship_grant(person=alert.person, team=team, reason=GrantReason.ALERT_ROUTED,
                       source=f"alert:{alert.pk}")
    if team.manager is not None:
        notification_send(
            recipient=team.manager, subject=f"Alert re-routed to {team.name}: {alert.rule_id}",
            body=f"{actor.get_full_name() or actor.username} sent an alert for "
                 f"{alert.person.ref} to {team.name}: {reason}",
        )
    audit_append(actor=actor, action="alert.rerouted", object_type="alert", object_id=alert.pk,
                 person_id=alert.person_id,
                 detail={"rule": alert.rule_id, "from": previous.code if previous else None,
                         "to": team.code, "reason": reason})
    return alert


@transaction.atomic
def alert_escalate(*, actor: User, alert_id: int, reason: str) -> Alert:
    """Ask the team manager to act on an alert now (before its clock escalates by itself)."""
    alert = _actionable(actor, alert_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": ["Say why this needs the manager now."]})
    manager = alert.team.manager if alert.team is not None else None
    if manager is None:
        raise ValidationFailed({"non_field_errors": ["This team has no manager to escalate to."]})
    now = clock.now()
    Alert.objects.filter(pk=alert.pk).update(escalated_at=now)
    alert.refresh_from_db()
    notification_send(
        recipient=manager, subject=f"Escalated: {alert.rule_id} for {alert.person.ref}",
        body=f"{actor.get_full_name() or actor.username} escalated '{alert.summary}': {reason}",
    )
    audit_append(actor=actor, action="alert.escalated", object_type="alert", object_id=alert.pk,
                 person_id=alert.person_id,
                 detail={"rule": alert.rule_id, "manager": manager.username, "reason": reason})
    return alert
