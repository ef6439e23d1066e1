"""Derived state: the flags rules ask about (looked after, on a CP plan, exploitation level...).

A flag is set and cleared only by events, in the same transaction as the event, and keeps the
event that set it and the event that cleared it, so every "why did this rule fire?" can be
traced back to what an agency recorded. Flags are never edited by hand.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q

from reachable.core.held import HeldRowsQuerySet


class Flag(models.TextChoices):
    OPEN_MASH_CONTACT = "open_mash_contact", "Open MASH contact"
    OPEN_REFERRAL = "open_referral", "Open referral"
    OPEN_ASSESSMENT = "open_assessment", "Open assessment"
    CIN_PLAN = "cin_plan", "Child in need plan"
    CP_PLAN = "cp_plan", "Child protection plan"
    S47_ENQUIRY = "s47_enquiry", "Section 47 enquiry"
    LOOKED_AFTER = "looked_after", "Looked after"
    PLACEMENT = "placement", "In placement"
    YOUTH_JUSTICE_ORDER = "youth_justice_order", "Youth justice order"
    EXPLOITATION = "exploitation", "Exploitation risk"
    EHE = "ehe", "Elective home education"
    MISSING_NOW = "missing_now", "Missing now"
    CHRONIC_CONDITION = "chronic_condition", "Chronic condition"
    BAIL_PROTECTED_FROM = "bail_protected_from", "Bail conditions forbid contact with"
    BAILED_NO_CONTACT = "bailed_no_contact", "On bail not to contact a child"
    LINKED_TO_ADULT_OF_CONCERN = "linked_adult_of_concern", "Linked to an adult of concern"
    ADULT_OF_CONCERN = "adult_of_concern", "Adult of concern"
    NRM_REFERRED = "nrm_referred", "NRM referral made"
    CIVIL_ORDER = "civil_order", "Civil order in force"
    HOUSING_APPLICATION = "housing_application", "Open housing application"
    SCHOOL_APPLICATION = "school_application", "Open school application"


class ChildFlag(models.Model):
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="flags",
                               db_index=False)  # (person, cleared_at) below leads with it
    flag = models.CharField(max_length=40, choices=Flag.choices)
    key = models.CharField(max_length=120, blank=True, default="",
                           help_text="tells apart several flags of one kind (a condition, an "
                                     "adult's id, an episode)")
    value = models.JSONField(default=dict, blank=True)
    set_by = models.ForeignKey("chronology.Event", on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()
    cleared_by = models.ForeignKey("chronology.Event", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    cleared_at = models.DateTimeField(null=True, blank=True)

    # Intake batches hold new flags back (``core.held``); any query flushes them first.
    objects: ClassVar[models.Manager[ChildFlag]] = HeldRowsQuerySet.as_manager()

    class Meta:
        # Saves and related-object lookups use the base manager: let them flush held rows too.
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["person", "flag", "key"],
                                    condition=Q(cleared_at__isnull=True),
                                    name="one_current_flag"),
        ]
        indexes = [models.Index(fields=["person", "cleared_at"])]
        ordering = ["set_at", "id"]

    def __str__(self) -> str:
        return f"{self.flag}:{self.key} for {self.person_id}"

    @property
    def current(self) -> bool:
        return self.cleared_at is None
