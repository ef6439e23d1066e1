"""Review items, known-distinct pairs and merges: the master person index's own records.

A merge never destroys anything. Every row that pointed at the merged person and was moved to
the survivor is listed in ``MergedRow``, so an unmerge puts exactly those rows back; rows that
could not move (they would duplicate one the survivor already holds) stay where they were and
are listed too. These tables are history: the generic re-pointing never touches them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted: merged"
    REJECTED = "rejected", "Rejected: different people"
    SUPERSEDED = "superseded", "Superseded"


class ReviewItem(models.Model):
    """A probable match the linkage engine could not decide: a person for staff to compare.

    ``incoming`` is the person created for the record that scored between the thresholds;
    ``candidate`` is the best existing match. Accepting merges incoming into candidate.
    """

    incoming = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    candidate = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    match_weight = models.FloatField()
    match_probability = models.FloatField()
    comparison = models.JSONField(default=list,
                                  help_text="per-field comparison levels and weights")
    model_version = models.CharField(max_length=80)
    source = models.CharField(max_length=200, help_text='e.g. "event:123", "batch:file.csv:17"')
    status = models.CharField(max_length=12, choices=ReviewStatus.choices,
                              default=ReviewStatus.OPEN, db_index=True)
    opened_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey("organisations.User", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)
    merge = models.ForeignKey("mpi.PersonMerge", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="review_items")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incoming", "candidate"],
                                    condition=Q(status="open"),
                                    name="one_open_review_per_pair"),
            models.CheckConstraint(condition=~Q(incoming=F("candidate")),
                                   name="review_pair_is_two_people"),
        ]
        ordering = ["opened_at", "id"]

    def __str__(self) -> str:
        return f"review {self.pk}: {self.incoming_id} ~ {self.candidate_id} ({self.status})"


class KnownDistinctPair(models.Model):
    """Two records a person has decided are different people; never offered for review again.

    Stored once per pair with the lower id first, so the question is order-independent.
    """

    person_low = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    person_high = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    decided_by = models.ForeignKey("organisations.User", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    review_item = models.ForeignKey(ReviewItem, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person_low", "person_high"],
                                    name="known_distinct_once"),
            models.CheckConstraint(condition=Q(person_low__lt=F("person_high")),
                                   name="known_distinct_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.person_low_id} is not {self.person_high_id}"


class PersonMerge(models.Model):
    """``merged`` was recognised as the same human being as ``survivor``.

    Active while ``unmerged_at`` is empty; at most one active merge per merged person.
    """

    survivor = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    merged_at = models.DateTimeField()
    merged_by = models.ForeignKey("organisations.User", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    # Review items about the merged person that the merge closed; an unmerge reopens them.
    superseded_items = models.JSONField(default=list)
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerged_by = models.ForeignKey("organisations.User", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    unmerge_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merged"], condition=Q(unmerged_at__isnull=True),
                                    name="one_active_merge_per_person"),
            models.CheckConstraint(condition=~Q(survivor=F("merged")),
                                   name="merge_is_two_people"),
        ]
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"merge {self.pk}: {self.merged_id} into {self.survivor_id}"

    @property
    def is_active(self) -> bool:
        return self.unmerged_at is None


class RowOutcome(models.TextChoices):
    MOVED = "moved", "Moved to the survivor"
    KEPT = "kept", "Kept on the merged person"


class MergedRow(models.Model):
    """One foreign key of one row that pointed at the merged person, and what the merge did."""

    merge = models.ForeignKey(PersonMerge, on_delete=models.PROTECT, related_name="rows")
    model = models.CharField(max_length=100, help_text="app_label.ModelName")
    object_pk = models.CharField(max_length=64)
    field = models.CharField(max_length=100)
    outcome = models.CharField(max_length=5, choices=RowOutcome.choices)
    why = models.CharField(max_length=200, blank=True,
                           help_text="for kept rows: the constraint the move would break")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merge", "model", "object_pk", "field"],
                                    name="merged_row_once"),
        ]
        indexes = [models.Index(fields=["merge", "outcome", "model"])]

    def __str__(self) -> str:
        return f"{self.model}#{self.object_pk}.{self.field} {self.outcome}"
