"""Reading the audit log (who viewed a record); callers check the right to ask first."""

from __future__ import annotations

from django.db.models import QuerySet

from reachable.audit.models import AuditRecord

VIEW_ACTIONS = ("person.viewed", "chronology.viewed", "alert.viewed")


def audit_views_of_person(*, person_id: int) -> QuerySet[AuditRecord]:
    return AuditRecord.objects.filter(person_id=person_id, action__in=VIEW_ACTIONS).order_by("-id")
