"""What the linkage engine keeps: models, match profiles with their blocking keys, decisions.

- ``LinkageModel``: a trained model (Splink's JSON plus term frequencies), versioned; one is
  active. With none in the database the packaged default model is used.
- ``MatchProfile``: one way a person has been described (a name variant, a date of birth, an
  address), already normalised into the features the model compares. A person has one per
  distinct description, so an alias or an old address still finds them.
- ``BlockingKey``: the indexed keys (forename group + date of birth, surname + date of birth,
  ...) by which an incoming record finds its candidate profiles without scanning the index.
- ``LinkDecision``: what linkage decided for one incoming record, with the model version, the
  match weight and what it matched on; every link can be traced back to it.
"""

from __future__ import annotations

from django.db import models

from reachable.people.models import Person


class LinkageModel(models.Model):
    version = models.CharField(max_length=80, unique=True)
    document = models.JSONField()
    trained_at = models.DateTimeField()
    created_at = models.DateTimeField()
    active = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["active"], condition=models.Q(active=True),
                                               name="one_active_linkage_model")]

    def __str__(self) -> str:
        return self.version


class MatchProfile(models.Model):
    # Features are NULL when unknown, never "": Splink and the scorer treat NULL as "missing"
    # (the comparison's null level), and "" would compare equal to "".
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="match_profiles",
                               db_index=False)  # (person, signature) below leads with it
    signature = models.CharField(max_length=40)  # hash of the features below
    forename = models.CharField(max_length=100, null=True)  # noqa: DJ001
    forename_canon = models.CharField(max_length=100, null=True)  # noqa: DJ001
    surname = models.CharField(max_length=100, null=True)  # noqa: DJ001
    surname_a = models.CharField(max_length=100, null=True)  # noqa: DJ001
    surname_b = models.CharField(max_length=100, null=True)  # noqa: DJ001
    dob = models.CharField(max_length=10, null=True)  # noqa: DJ001
    dob_swap = models.CharField(max_length=10, null=True)  # noqa: DJ001
    sex = models.CharField(max_length=1, null=True)  # noqa: DJ001
    postcode = models.CharField(max_length=10, null=True)  # noqa: DJ001
    postcode_sector = models.CharField(max_length=10, null=True)  # noqa: DJ001
    postcode_district = models.CharField(max_length=10, null=True)  # noqa: DJ001
    address = models.CharField(max_length=300, null=True)  # noqa: DJ001
    nhs_number = models.CharField(max_length=40, null=True)  # noqa: DJ001
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "signature"],
                                               name="match_profile_unique")]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.forename} {self.surname} {self.dob}"


class BlockingKey(models.Model):
    profile = models.ForeignKey(MatchProfile, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=220)

    class Meta:
        # Keys are looked up by equality only: one plain index, without the pattern-ops twin
        # Django adds for ``db_index`` on text (a dozen keys are written per new profile).
        indexes = [models.Index(fields=["key"], name="blocking_key_idx")]

    def __str__(self) -> str:
        return self.key


class Decision(models.TextChoices):
    DETERMINISTIC = "deterministic", "Deterministic (identifier)"
    AUTO_LINK = "auto_link", "Linked automatically"
    REVIEW = "review", "New person, sent for review"
    NEW = "new", "New person"


class LinkDecision(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="link_decisions")
    candidate = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")  # best candidate, for review decisions
    source = models.CharField(max_length=200)
    # A batch row's identity, so that linking the same extract again links nothing twice:
    # ``<agency>:id:<record_id>`` when the file has record ids, else ``<agency>:row:<hash>``
    # of the row's content. Blank for online resolution (intake is idempotent on its own).
    record_key = models.CharField(max_length=200, blank=True)
    agency_code = models.CharField(max_length=50, blank=True)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    matched_on = models.CharField(max_length=40)
    match_weight = models.FloatField(null=True)
    match_probability = models.FloatField(null=True)
    model_version = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        # Plain indexes, without the pattern-ops twins of ``db_index`` on text: a decision is
        # written for every subject intake resolves.
        indexes = [models.Index(fields=["source"], name="link_decision_source_idx"),
                   models.Index(fields=["record_key"], name="link_decision_record_idx")]

    def __str__(self) -> str:
        return f"{self.source} -> {self.person_id} ({self.decision})"
