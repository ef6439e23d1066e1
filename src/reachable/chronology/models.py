"""The multi-agency chronology: every accepted event, immutable, on the child's timeline."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from reachable.core.held import HeldRowsQuerySet


class Event(models.Model):
    # Foreign keys without an index of their own where a composite index leads with them
    # (person: (person, occurred_at); source agency: the idempotency key), and the type
    # without a pattern-ops twin: each index is one more write per accepted event.
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT,
                               related_name="chronology", db_index=False)
    type = models.CharField(max_length=60)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    source_agency = models.ForeignKey("organisations.Agency", on_delete=models.PROTECT,
                                      related_name="events", db_index=False)
    source_record = models.CharField(max_length=120)
    submitted_by = models.ForeignKey("organisations.User", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    subject = models.JSONField(help_text="the subject exactly as the agency described them")
    related = models.JSONField(default=list,
                               help_text="related people as given, each with its resolved id")
    data = models.JSONField(default=dict)
    payload_hash = models.CharField(max_length=64)
    result = models.JSONField(default=dict, help_text="what the submission returned")

    # Intake batches hold new events back (``core.held``); any query flushes them first.
    objects: ClassVar[models.Manager[Event]] = HeldRowsQuerySet.as_manager()

    class Meta:
        # Related-object lookups use the base manager: let them flush held rows too.
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["source_agency", "source_record"],
                                    name="event_idempotency_key"),
        ]
        indexes = [models.Index(fields=["person", "occurred_at"]),
                   models.Index(fields=["type"], name="event_type_idx")]
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.type} {self.source_record}"


class EventRelatedPerson(models.Model):
    """Index of people named in an event's ``related`` list (bail subjects, co-arrested, ...)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="related_people")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=40)

    # Held back in intake batches with their events (``core.held``).
    objects: ClassVar[models.Manager[EventRelatedPerson]] = HeldRowsQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.role} in event {self.event_id}"
