"""Agencies, their teams and the professionals (users) who work in them.

Agencies are tenants: every user belongs to one, and an agency system pushing events is a user
of its agency with the ``agency_system`` role, holding hashed API tokens.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class AgencyKind(models.TextChoices):
    POLICE = "police", "Police force"
    HEALTH = "health", "Health trust"
    GP = "gp", "GP practice"
    PHARMACY = "pharmacy", "Pharmacy"
    SCHOOL = "school", "School or education service"
    HOUSING = "housing", "Housing"
    YOUTH_JUSTICE = "youth_justice", "Youth justice service"
    CSC = "csc", "Children's social care"
    MASH = "mash", "Multi-agency safeguarding hub"
    PARTNERSHIP = "partnership", "Safeguarding partnership"


class Agency(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=AgencyKind.choices)
    # For police agencies: the force (e.g. "met", "nottinghamshire"); drives out-of-area rules.
    police_force = models.CharField(max_length=50, blank=True)

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamKind(models.TextChoices):
    MASH = "mash", "MASH"
    SOCIAL_WORK = "social_work", "Social work team"
    IRO = "iro", "IRO service"
    EXPLOITATION = "exploitation", "Exploitation team"
    MISSING = "missing", "Missing team"
    EHE = "ehe", "Elective home education"
    HOUSING_LIAISON = "housing_liaison", "Housing liaison"
    GP_LIAISON = "gp_liaison", "GP liaison"
    POLICE = "police", "Police safeguarding"
    HEALTH = "health", "Health safeguarding"
    EDUCATION = "education", "Education safeguarding"
    PARTNERSHIP = "partnership", "Partnership business unit"
    INFORMATION_GOVERNANCE = "information_governance", "Information governance"
    SYSTEMS = "systems", "Agency systems"


class Team(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=TeamKind.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="teams")
    manager = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="managed_teams",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    MASH_PRACTITIONER = "mash_practitioner", "MASH practitioner"
    MASH_MANAGER = "mash_manager", "MASH manager"
    SOCIAL_WORKER = "social_worker", "Social worker"
    TEAM_MANAGER = "team_manager", "Team manager"
    IRO = "iro", "Independent reviewing officer"
    POLICE_LIAISON = "police_liaison", "Police liaison officer"
    HEALTH_LIAISON = "health_liaison", "Health liaison"
    EDUCATION_LIAISON = "education_liaison", "Education liaison"
    HOUSING_LIAISON = "housing_liaison", "Housing liaison"
    EXPLOITATION_COORDINATOR = "exploitation_coordinator", "Exploitation coordinator"
    PARTNERSHIP_MANAGER = "partnership_manager", "Partnership manager"
    IG_OFFICER = "ig_officer", "Information governance officer"
    AGENCY_SYSTEM = "agency_system", "Agency system (API)"


class User(AbstractUser):
    role = models.CharField(max_length=40, choices=Role.choices)
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )

    def audit_label(self) -> str:
        return f"{self.username} ({self.role})"

    def audit_agency(self) -> str:
        return self.agency.code if self.agency_id and self.agency else ""

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class AgencyToken(models.Model):
    """An API credential for an agency system. Only the SHA-256 of the key is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
