"""People (children and adults), the names and identifiers agencies know them by, their
addresses and relationships. A person is the platform's one record for one human being."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from django.db import models

from reachable.core import clock
from reachable.core.held import HeldRowsQuerySet


class Sex(models.TextChoices):
    MALE = "M", "Male"
    FEMALE = "F", "Female"
    UNKNOWN = "U", "Unknown"


class Person(models.Model):
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    name_key = models.CharField(max_length=210)  # (name_key, date_of_birth) below leads with it
    date_of_birth = models.DateField(null=True, blank=True, db_index=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    died_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    # Set while this record is merged into another (the master person index, ``reachable.mpi``,
    # owns it): such a person is hidden from search and lookups lead to the survivor.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged_from")

    # Intake batches hold new people back (``core.held``) like their events; any query of
    # people flushes them first.
    objects: ClassVar[models.Manager[Person]] = HeldRowsQuerySet.as_manager()

    class Meta:
        # Related-object lookups (``event.person``) and ``save`` use the base manager: let
        # them flush held rows too.
        base_manager_name = "objects"
        indexes = [models.Index(fields=["name_key", "date_of_birth"])]

    def __str__(self) -> str:
        return f"{self.ref} {self.given_name} {self.family_name}"

    @property
    def ref(self) -> str:
        return f"P-{self.pk:06d}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth is None:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    def is_child_on(self, day: date | None = None) -> bool:
        """Under 18 on ``day``; a person with no known date of birth is not assumed a child."""
        age = self.age_on(day or clock.now().date())
        return age is not None and age < 18


def parse_person_ref(ref: str) -> int | None:
    """``P-000123`` (or ``123``) to a primary key; None for anything else."""
    text = ref.strip().upper()
    if text.startswith("P-"):
        text = text[2:]
    return int(text) if text.isdigit() else None


class PersonName(models.Model):
    """Every name an agency has given for the person (aliases, misspellings, changed surnames)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="names",
                               db_index=False)  # (person, name_key) below leads with it
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    name_key = models.CharField(max_length=210)
    source_agency = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "name_key"], name="person_name_unique")
        ]
        indexes = [models.Index(fields=["name_key"], name="person_name_key_idx")]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"


class IdentifierKind(models.TextChoices):
    NHS = "nhs_number", "NHS number"
    UPN = "upn", "Unique pupil number"
    PNC = "pnc_id", "Police National Computer id"
    LOCAL = "local_child_id", "Local child id"


class Identifier(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    value = models.CharField(max_length=40)
    # Local ids are only unique within the agency that issued them; national ids leave it blank.
    issuer = models.CharField(max_length=50, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "issuer", "value"], name="identifier_unique")
        ]
        indexes = [models.Index(fields=["kind", "value"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


class Address(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="addresses")
    line = models.CharField(max_length=300, blank=True)
    postcode = models.CharField(max_length=10)
    recorded_at = models.DateTimeField()
    source_agency = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["postcode"], name="address_postcode_idx")]

    def __str__(self) -> str:
        return self.postcode


class Relationship(models.Model):
    """A directed link: ``person`` has ``related`` as their ``kind`` (e.g. mother, associate)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relationships",
                               db_index=False)  # (person, related, kind) below leads with it
    related = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="related_to")
    kind = models.CharField(max_length=40)
    recorded_at = models.DateTimeField()
    source_agency = models.CharField(max_length=50, blank=True)

    # Intake batches hold new relationships back (``core.held``); rules that read them flush.
    objects: ClassVar[models.Manager[Relationship]] = HeldRowsQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["person", "related", "kind"],
                                    name="relationship_unique")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.related_id}"
