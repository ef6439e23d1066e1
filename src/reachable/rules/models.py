"""Alerts raised by rules and the clocks that time the response to them."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from reachable.core.held import HeldRowsQuerySet


class Severity(models.TextChoices):
    RED = "red", "Red"
    AMBER = "amber", "Amber"
    INFO = "info", "Information"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class AlertKind(models.TextChoices):
    ALERT = "alert", "Alert"
    PROMPT = "prompt", "Prompt"
    AGENDA = "agenda", "Added to an agenda"


class Alert(models.Model):
    # Indexes are one more write per alert raised: the rule, team and assignee are served by
    # the composite indexes that lead with them, and the status has no pattern-ops twin.
    rule_id = models.CharField(max_length=60)
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="alerts")
    event = models.ForeignKey("chronology.Event", on_delete=models.PROTECT, related_name="alerts")
    team = models.ForeignKey("organisations.Team", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="alerts", db_index=False)
    route = models.CharField(max_length=40, help_text="the route the rule names (a team kind "
                                                     "or a role such as allocated_worker)")
    kind = models.CharField(max_length=10, choices=AlertKind.choices, default=AlertKind.ALERT)
    key = models.CharField(max_length=120, blank=True, default="",
                           help_text="tells apart several alerts of one firing (e.g. per action)")
    assignee = models.ForeignKey("organisations.User", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="assigned_alerts",
                                 db_index=False,
                                 help_text="the person whose personal queue holds it")
    escalated_at = models.DateTimeField(null=True, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    summary = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=AlertStatus.choices,
                              default=AlertStatus.OPEN)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey("organisations.User", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    outcome = models.TextField(blank=True)
    information_shared = models.TextField(blank=True)

    # Intake batches hold new alerts back (``core.held``); any query flushes them first.
    objects: ClassVar[models.Manager[Alert]] = HeldRowsQuerySet.as_manager()

    class Meta:
        # Related-object lookups use the base manager: let them flush held rows too.
        base_manager_name = "objects"
        constraints = [
            # Duplicate suppression: one alert per rule, child, triggering event and route.
            models.UniqueConstraint(fields=["rule_id", "person", "event", "route", "key"],
                                    name="alert_once_per_trigger_route"),
        ]
        indexes = [models.Index(fields=["team", "status", "raised_at"]),
                   models.Index(fields=["assignee", "status"]),
                   models.Index(fields=["rule_id", "raised_at"]),
                   models.Index(fields=["status"], name="alert_status_idx")]
        ordering = ["raised_at", "id"]

    def __str__(self) -> str:
        return f"{self.rule_id} for {self.person_id}"


class ClockStatus(models.TextChoices):
    OPEN = "open", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    STOPPED = "stopped", "Stopped"


class Clock(models.Model):
    # No single-column indexes on rule or person: every look-up by either also names the
    # person, which the (person, status) index serves, and each index is one more write per
    # clock the sweep transitions.
    rule_id = models.CharField(max_length=60)
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="clocks",
                               db_index=False)
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="clocks")
    event = models.ForeignKey("chronology.Event", on_delete=models.PROTECT, related_name="clocks")
    key = models.CharField(max_length=120, blank=True, default="",
                           help_text="what a closing event must match (request id, episode...)")
    label = models.CharField(max_length=200, blank=True, default="")
    owner = models.CharField(max_length=100, blank=True, default="",
                             help_text="team or agency code that owns the work (e.g. an action)")
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
    paused_at = models.DateTimeField(null=True, blank=True)
    remaining_seconds = models.FloatField(null=True, blank=True,
                                          help_text="time left when paused")
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.CharField(max_length=120, blank=True)

    objects: ClassVar[models.Manager[Clock]] = HeldRowsQuerySet.as_manager()

    class Meta:
        # Related-object lookups use the base manager: let them flush held rows too.
        base_manager_name = "objects"
        indexes = [
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["status", "escalate_at"]),
            models.Index(fields=["person", "status"]),
        ]
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.rule_id} clock for {self.person_id} ({self.status})"


class Meeting(models.TextChoices):
    DRM = "drm", "Daily Risk Management meeting"
    MACE = "mace", "MACE / Exploitation and Risk Panel"
    STRATEGY = "strategy", "Strategy discussion"


class AgendaItem(models.Model):
    """A child added by a rule to the next meeting of a panel; closed when the panel meets."""

    meeting = models.CharField(max_length=20, choices=Meeting.choices)
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT,
                               related_name="agenda_items")
    rule_id = models.CharField(max_length=60)
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="agenda_items")
    event = models.ForeignKey("chronology.Event", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300)
    added_at = models.DateTimeField()
    discussed_at = models.DateTimeField(null=True, blank=True)
    discussed_event = models.ForeignKey("chronology.Event", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            # A child is on a panel's next agenda once, however many events put them there.
            models.UniqueConstraint(fields=["meeting", "person"],
                                    condition=models.Q(discussed_at__isnull=True),
                                    name="one_open_agenda_item"),
        ]
        ordering = ["added_at", "id"]

    def __str__(self) -> str:
        return f"{self.person_id} on the {self.meeting} agenda"
