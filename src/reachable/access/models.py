"""Legitimate relationships and break-glass: the "why" behind every view of a child's record.

Access is role activity x relationship. A relationship is a row here, so "why can this user
see this child?" always has an inspectable answer, and ending the relationship ends the access.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class GrantReason(models.TextChoices):
    ALLOCATED_WORKER = "allocated_worker", "Allocated worker"
    TEAM_CASE = "team_case", "Team on the case"
    MASH_SCREENING = "mash_screening", "MASH screening"
    PANEL_MEMBER = "panel_member", "Panel discussing the child"
    ALERT_ROUTED = "alert_routed", "Alert routed to the team"
    SUPPLIED_EVENT = "supplied_event", "Agency supplied information"


class AccessGrant(models.Model):
    """A live relationship between a child and a user, a team or an agency."""

    person = models.ForeignKey("people.Person", on_delete=models.CASCADE,
                               related_name="access_grants")
    user = models.ForeignKey("organisations.User", null=True, blank=True,
                             on_delete=models.CASCADE, related_name="access_grants")
    team = models.ForeignKey("organisations.Team", null=True, blank=True,
                             on_delete=models.CASCADE, related_name="access_grants")
    agency = models.ForeignKey("organisations.Agency", null=True, blank=True,
                               on_delete=models.CASCADE, related_name="access_grants")
    reason = models.CharField(max_length=30, choices=GrantReason.choices)
    source = models.CharField(max_length=80, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(user__isnull=False, team__isnull=True, agency__isnull=True)
                    | Q(user__isnull=True, team__isnull=False, agency__isnull=True)
                    | Q(user__isnull=True, team__isnull=True, agency__isnull=False)
                ),
                name="grant_has_exactly_one_holder",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "ended_at"]),
            models.Index(fields=["team", "person"]),
            models.Index(fields=["agency", "person"]),
            models.Index(fields=["user", "person"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} for person {self.person_id}"


class BreakGlass(models.Model):
    """A time-boxed, reasoned elevation to see a child without a relationship."""

    user = models.ForeignKey("organisations.User", on_delete=models.CASCADE,
                             related_name="break_glass")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE,
                               related_name="break_glass")
    reason = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"break-glass by {self.user_id} on person {self.person_id}"


class Notification(models.Model):
    """A message to a professional, shown in the app and sent by email after commit."""

    recipient = models.ForeignKey("organisations.User", on_delete=models.CASCADE,
                                  related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject
