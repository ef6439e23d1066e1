"""Who may see and act on which alerts: the team it is routed to (members and manager) and the
person it is assigned to, and only for children they may open."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from reachable.access.policies import Activity, PersonPolicy, has_activity
from reachable.core.errors import NotFound
from reachable.organisations.models import User
from reachable.rules.models import Alert


class AlertPolicy:
    @staticmethod
    def visible_alerts(actor: User) -> QuerySet[Alert]:
        if not has_activity(actor, Activity.VIEW_TEAM_QUEUE):
            return Alert.objects.none()
        teams = Q(team__manager=actor) | Q(assignee=actor)
        if actor.team_id:
            teams |= Q(team_id=actor.team_id)
        return Alert.objects.filter(teams, person__in=PersonPolicy.visible_people(actor))

    @staticmethod
    def can_act(actor: User, alert: Alert) -> bool:
        """Assign, re-route or escalate: the same people who may acknowledge it."""
        return AlertPolicy.can_acknowledge(actor, alert)

    @staticmethod
    def can_acknowledge(actor: User, alert: Alert) -> bool:
        return has_activity(actor, Activity.ACKNOWLEDGE_ALERT) and (
            AlertPolicy.visible_alerts(actor).filter(pk=alert.pk).exists()
        )


def access_alert(actor: User, alert_id: int) -> Alert:
    alert = (
        AlertPolicy.visible_alerts(actor).select_related("person", "event", "team")
        .filter(pk=alert_id).first()
    )
    if alert is None:
        raise NotFound("No such alert.")
    return alert
