"""Alerts raised by rules and the clocks that time the response to them."""

from __future__ import annotations

from django.db import models


class Severity(models.TextChoices):
    RED = "red", "Red"
    AMBER = "amber", "Amber"
    INFO = "info", "Information"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class Alert(models.Model):
    rule_id = models.CharField(max_length=60, db_index=True)
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="alerts")
    event = models.ForeignKey("chronology.Event", on_delete=models.PROTECT, related_name="alerts")
    team = models.ForeignKey("organisations.Team", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="alerts")
    route = models.CharField(max_length=40, help_text="the team kind the rule routes to")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    summary = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=AlertStatus.choices,
                              default=AlertStatus.OPEN, db_index=True)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey("organisations.User", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    outcome = models.TextField(blank=True)
    information_shared = models.TextField(blank=True)

    class Meta:
        constraints = [
            # Duplicate suppression: one alert per rule, child and triggering event.
            models.UniqueConstraint(fields=["rule_id", "person", "event"],
                                    name="alert_once_per_trigger"),
        ]
        indexes = [models.Index(fields=["team", "status", "raised_at"])]
        ordering = ["raised_at", "id"]

    def __str__(self) -> str:
        return f"{self.rule_id} for {self.person_id}"


class ClockStatus(models.TextChoices):
    OPEN = "open", "Running"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"


class Clock(models.Model):
    rule_id = models.CharField(max_length=60, db_index=True)
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="clocks")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="clocks")
    event = models.ForeignKey("chronology.Event", on_delete=models.PROTECT, related_name="clocks")
    unit = models.CharField(max_length=20)
    amount = models.FloatField()
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    escalate_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ClockStatus.choices,
                              default=ClockStatus.OPEN)
    met_at = models.DateTimeField(null=True, blank=True)
    met_by = models.CharField(max_length=120, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["status", "escalate_at"]),
            models.Index(fields=["person", "status"]),
        ]
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.rule_id} clock for {self.person_id} ({self.status})"
