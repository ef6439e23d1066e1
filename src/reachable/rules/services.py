"""Practitioner actions on alerts."""

from __future__ import annotations

from django.db import transaction

from reachable.audit.services import audit_append
from reachable.core import clock
from reachable.core.errors import NotFound, ValidationFailed
from reachable.organisations.models import User
from reachable.rules.engine import close_clocks
from reachable.rules.models import Alert, AlertStatus
from reachable.rules.policies import AlertPolicy, access_alert
from reachable.rules.registry import ACKNOWLEDGED


@transaction.atomic
def alert_acknowledge(
    *, actor: User, alert_id: int, information_shared: str, outcome: str = ""
) -> Alert:
    """Acknowledge an alert with what was shared; this meets the clocks it closes."""
    alert = access_alert(actor, alert_id)
    if not AlertPolicy.can_acknowledge(actor, alert):
        raise NotFound("No such alert.")
    information_shared = (information_shared or "").strip()
    if not information_shared:
        raise ValidationFailed(
            {"information_shared": ["Say what information was shared, and with whom."]}
        )
    if alert.status != AlertStatus.OPEN:
        raise ValidationFailed({"non_field_errors": ["This alert has already been acknowledged."]})
    now = clock.now()
    updated = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=actor,
        information_shared=information_shared, outcome=outcome.strip(),
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
