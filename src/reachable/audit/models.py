"""The audit log: append-only and hash-chained.

Each record carries the hash of the one before it, so a record changed or removed after the
fact breaks the chain at that point; on PostgreSQL a trigger also refuses UPDATE and DELETE.
Actors are copied in as id and label rather than foreign keys, so that no later deletion of a
user can cascade into (or be blocked by) the log.
"""

from __future__ import annotations

from django.db import models


class AuditRecord(models.Model):
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200)
    actor_agency = models.CharField(max_length=50, blank=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=80, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        # Every index is one more write per record, and a record is written with every read
        # and write of a child's data: no single-column twin of the (person, action, at)
        # index, and none of the ``varchar_pattern_ops`` twins Django makes for text fields
        # with ``db_index`` or ``unique`` (nothing asks the log for a prefix).
        constraints = [models.UniqueConstraint(fields=["hash"], name="audit_hash_unique")]
        indexes = [models.Index(fields=["person_id", "action", "at"]),
                   models.Index(fields=["action"], name="audit_action_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id} by {self.actor_label}"
