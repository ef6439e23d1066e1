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

    # No single-column index on any of these: each leads a composite index below, and a
    # grant is written for most events intake accepts.
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE,
                               related_name="access_grants", db_index=False)
    user = models.ForeignKey("organisations.User", null=True, blank=True,
                             on_delete=models.CASCADE, related_name="access_grants",
                             db_index=False)
    team = models.ForeignKey("organisations.Team", null=True, blank=True,
                             on_delete=models.CASCADE, related_name="access_grants",
                             db_index=False)
    agency = models.ForeignKey("organisations.Agency", null=True, blank=True,
                               on_delete=models.CASCADE, related_name="access_grants",
                               db_index=False)
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


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Gave up after the last attempt"


class EmailOutbox(models.Model):
    """An email owed to a professional: the transactional outbox behind ``Notification``.

    Written in the same transaction as its notification, so an email exists exactly when the
    change it describes committed. Workers claim rows with a lease (a conditional UPDATE that
    sets ``lease_token``), send, and mark them sent; a failure backs off exponentially until
    ``attempts`` reaches the limit. Delivery is at least once: the stable ``Message-ID``
    derived from the row's id lets a mail system drop the duplicate of a message re-sent after
    a crash between sending and marking (decision record 0008).
    """

    notification = models.OneToOneField(Notification, on_delete=models.CASCADE,
                                        related_name="email")
    to = models.EmailField(help_text="the recipient's address when the notification was made")
    status = models.CharField(max_length=10, choices=EmailStatus.choices,
                              default=EmailStatus.PENDING)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(help_text="not to be tried before this time")
    attempts = models.PositiveIntegerField(default=0,
                                           help_text="claims so far (each claim is one try)")
    lease_token = models.CharField(max_length=32, blank=True, default="",
                                   help_text="the claim that holds the row")
    leased_until = models.DateTimeField(null=True, blank=True,
                                        help_text="the claim may be taken over after this")
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"]),
                   models.Index(fields=["lease_token"])]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"email {self.pk} ({self.status})"
