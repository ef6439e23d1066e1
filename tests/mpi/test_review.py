"""The clerical review queue's services: open (linkage), accept (merge), reject (distinct)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from reachable.audit.models import AuditRecord
from reachable.core import clock
from reachable.core.errors import NotFound, PermissionDenied, ValidationFailed
from reachable.mpi.models import KnownDistinctPair, PersonMerge, ReviewItem, ReviewStatus
from reachable.mpi.selectors import pair_known_distinct
from reachable.mpi.services import (
    person_merge,
    person_unmerge,
    review_item_accept,
    review_item_open,
    review_item_reject,
)
from reachable.organisations.models import Role
from reachable.people.models import Person
from tests.borough import Borough
from tests.mpi.story import Pair, snapshot, two_records_of_one_child
from tests.world import AT

DECIDERS = [Role.MASH_PRACTITIONER, Role.MASH_MANAGER]
NOBODY = [r for r in Role.values if r not in (*DECIDERS, Role.IG_OFFICER)]


def comparison() -> list[dict[str, Any]]:
    return [
        {"field": "given_name", "level": "jaro-winkler > 0.92", "agreement": "partial",
         "bayes_factor": 12.5, "match_weight": 3.64, "left": "Tomasz", "right": "Tomas"},
        {"field": "family_name", "level": "exact", "agreement": "agree",
         "bayes_factor": 80.0, "match_weight": 6.32, "left": "Nowak", "right": "Nowak"},
        {"field": "date_of_birth", "level": "exact", "agreement": "agree",
         "bayes_factor": 300.0, "match_weight": 8.23, "left": "2011-07-19",
         "right": "2011-07-19"},
        {"field": "postcode", "level": "different", "agreement": "disagree",
         "bayes_factor": 0.2, "match_weight": -2.32, "left": "N15 3RT", "right": "E17 4PP"},
        {"field": "nhs_number", "level": "missing", "agreement": "null",
         "bayes_factor": 1.0, "match_weight": 0.0, "left": "9434765919", "right": ""},
    ]


def open_item(incoming: Person, candidate: Person, source: str = "event:1") -> ReviewItem | None:
    with clock.frozen_at(AT):
        return review_item_open(incoming=incoming, candidate=candidate, match_weight=15.87,
                                match_probability=0.9825, comparison=comparison(),
                                model_version="splink-5.0/test-1", source=source)


@pytest.fixture
def pair(borough: Borough) -> Pair:
    with clock.frozen_at(AT):
        return two_records_of_one_child(borough)


@pytest.fixture
def item(pair: Pair) -> ReviewItem:
    opened = open_item(pair.custody, pair.school)
    assert opened is not None
    return opened


def test_open_records_the_comparison_and_audits_as_the_system(pair: Pair) -> None:
    item = open_item(pair.custody, pair.school)
    assert item is not None
    assert (item.incoming, item.candidate, item.status) == (pair.custody, pair.school, "open")
    assert item.comparison[3]["agreement"] == "disagree"
    assert item.opened_at == AT
    record = AuditRecord.objects.get(action="match_review.opened")
    assert (record.actor_id, record.actor_label) == (None, "system")
    assert record.object_id == str(item.pk) and record.person_id == pair.custody.pk
    assert record.detail["model_version"] == "splink-5.0/test-1"


def test_open_is_idempotent_for_an_open_pair_either_way_round(item: ReviewItem,
                                                              pair: Pair) -> None:
    audits = AuditRecord.objects.count()
    assert open_item(pair.custody, pair.school, source="event:2") == item
    assert open_item(pair.school, pair.custody, source="event:3") == item
    assert ReviewItem.objects.count() == 1
    assert AuditRecord.objects.count() == audits


def test_open_refuses_malformed_calls(pair: Pair) -> None:
    with clock.frozen_at(AT):
        with pytest.raises(ValueError, match="list of dicts"):
            review_item_open(incoming=pair.custody, candidate=pair.school, match_weight=1.0,
                             match_probability=0.5, comparison="surname",  # type: ignore[arg-type]
                             model_version="m", source="s")
        with pytest.raises(ValueError, match="between 0 and 1"):
            review_item_open(incoming=pair.custody, candidate=pair.school, match_weight=1.0,
                             match_probability=1.5, comparison=[], model_version="m", source="s")
    assert open_item(pair.school, pair.school) is None  # already one person
    assert not ReviewItem.objects.exists()


@pytest.mark.parametrize("role", DECIDERS)
def test_accept_merges_incoming_into_candidate(borough: Borough, pair: Pair, item: ReviewItem,
                                               role: str) -> None:
    other = open_item(pair.custody, pair.mother, source="event:9")  # about to be superseded
    assert other is not None
    actor = borough.users[role]
    with clock.frozen_at(AT):
        accepted = review_item_accept(actor=actor, item_id=item.pk, notes="Same DOB and mother.")
    assert accepted.status == ReviewStatus.ACCEPTED
    assert (accepted.decided_by, accepted.decided_at) == (actor, AT)
    assert accepted.notes == "Same DOB and mother."
    merge = accepted.merge
    assert merge is not None
    assert (merge.survivor, merge.merged) == (pair.school, pair.custody)
    assert merge.reason == "Same DOB and mother."
    pair.custody.refresh_from_db()
    assert pair.custody.merged_into == pair.school
    other.refresh_from_db()
    assert other.status == ReviewStatus.SUPERSEDED
    assert merge.superseded_items == [other.pk]
    actions = list(AuditRecord.objects.filter(action__in=["person.merged",
                                                          "match_review.accepted"])
                   .values_list("action", "object_id"))
    assert actions == [("person.merged", str(merge.pk))] * 2 + [
        ("match_review.accepted", str(item.pk))]


def test_unmerging_an_accepted_merge_reopens_what_it_superseded(
    borough: Borough, pair: Pair, item: ReviewItem
) -> None:
    before = snapshot()
    other = open_item(pair.custody, pair.mother, source="event:9")
    assert other is not None
    with clock.frozen_at(AT):
        accepted = review_item_accept(actor=borough.users[Role.MASH_MANAGER], item_id=item.pk)
        assert accepted.merge is not None
        assert accepted.merge.reason == f"Clerical review {item.pk} accepted"
        person_unmerge(actor=borough.users[Role.MASH_MANAGER], merge_id=accepted.merge.pk,
                       reason="The school confirmed these are twins.")
    assert snapshot() == before
    other.refresh_from_db()
    assert (other.status, other.decided_at) == (ReviewStatus.OPEN, None)
    # The wrong merge's pair is now known distinct and is never offered again.
    assert open_item(pair.custody, pair.school, source="event:10") is None
    pair_row = KnownDistinctPair.objects.get()
    assert pair_row.review_item_id == item.pk


def test_accept_and_its_audit_records_commit_together(borough: Borough, pair: Pair,
                                                      item: ReviewItem) -> None:
    audits = AuditRecord.objects.count()
    before = snapshot()
    with transaction.atomic():
        with clock.frozen_at(AT):
            review_item_accept(actor=borough.users[Role.MASH_PRACTITIONER], item_id=item.pk)
        assert AuditRecord.objects.count() == audits + 3
        transaction.set_rollback(True)
    assert AuditRecord.objects.count() == audits
    assert snapshot() == before
    item.refresh_from_db()
    assert item.status == ReviewStatus.OPEN and not PersonMerge.objects.exists()


def test_reject_needs_notes_and_records_the_pair_as_distinct(borough: Borough, pair: Pair,
                                                             item: ReviewItem) -> None:
    actor = borough.users[Role.MASH_PRACTITIONER]
    with clock.frozen_at(AT):
        with pytest.raises(ValidationFailed) as missing:
            review_item_reject(actor=actor, item_id=item.pk, notes="   ")
        assert "notes" in missing.value.errors
        item.refresh_from_db()
        assert item.status == ReviewStatus.OPEN
        rejected = review_item_reject(actor=actor, item_id=item.pk,
                                      notes="School confirms twins: Tomas and Tomasz.")
    assert rejected.status == ReviewStatus.REJECTED and rejected.decided_by == actor
    assert rejected.merge is None
    pair_row = KnownDistinctPair.objects.get()
    assert {pair_row.person_low_id, pair_row.person_high_id} == {pair.custody.pk, pair.school.pk}
    assert pair_row.reason == "School confirms twins: Tomas and Tomasz."
    record = AuditRecord.objects.get(action="match_review.rejected")
    assert record.actor_id == actor.pk and record.detail["known_distinct"] == pair_row.pk
    assert pair_known_distinct(pair.school.pk, pair.custody.pk)
    assert pair_known_distinct(pair.custody.pk, pair.school.pk)


def test_known_distinct_pairs_are_never_reopened(borough: Borough, pair: Pair,
                                                 item: ReviewItem) -> None:
    with clock.frozen_at(AT):
        review_item_reject(actor=borough.users[Role.MASH_MANAGER], item_id=item.pk,
                           notes="Twins.")
    audits = AuditRecord.objects.count()
    assert open_item(pair.custody, pair.school, source="event:5") is None
    assert open_item(pair.school, pair.custody, source="event:6") is None
    assert ReviewItem.objects.count() == 1 and AuditRecord.objects.count() == audits
    # Nor once one of them has been merged into a third record: that record is not the other.
    with clock.frozen_at(AT):
        person_merge(actor=None, survivor=pair.mother, merged=pair.custody,
                     reason="(test) the custody record is folded into another")
        assert open_item(pair.school, pair.mother, source="event:7") is None
        with pytest.raises(ValidationFailed):
            person_merge(actor=None, survivor=pair.school, merged=pair.mother, reason="Same.")


def test_a_decided_item_cannot_be_decided_again(borough: Borough, item: ReviewItem) -> None:
    actor = borough.users[Role.MASH_PRACTITIONER]
    with clock.frozen_at(AT):
        review_item_reject(actor=actor, item_id=item.pk, notes="Different children.")
        with pytest.raises(ValidationFailed):
            review_item_accept(actor=actor, item_id=item.pk)
        with pytest.raises(ValidationFailed):
            review_item_reject(actor=actor, item_id=item.pk, notes="Again.")
    assert not PersonMerge.objects.exists()


def test_ig_officers_may_look_but_not_decide(borough: Borough, item: ReviewItem) -> None:
    with clock.frozen_at(AT):
        with pytest.raises(PermissionDenied):
            review_item_accept(actor=borough.users[Role.IG_OFFICER], item_id=item.pk)
        with pytest.raises(PermissionDenied):
            review_item_reject(actor=borough.users[Role.IG_OFFICER], item_id=item.pk,
                               notes="Twins.")
    item.refresh_from_db()
    assert item.status == ReviewStatus.OPEN


@pytest.mark.parametrize("role", NOBODY)
def test_everyone_else_gets_not_found_as_for_a_missing_item(borough: Borough,
                                                            item: ReviewItem,
                                                            role: str) -> None:
    actor = borough.users[role]
    with clock.frozen_at(AT):
        for item_id in (item.pk, 10**9):
            with pytest.raises(NotFound, match="No such review item"):
                review_item_accept(actor=actor, item_id=item_id)
            with pytest.raises(NotFound, match="No such review item"):
                review_item_reject(actor=actor, item_id=item_id, notes="Twins.")
    item.refresh_from_db()
    assert item.status == ReviewStatus.OPEN and not KnownDistinctPair.objects.exists()


def test_deciders_get_not_found_for_a_missing_item(borough: Borough) -> None:
    with clock.frozen_at(AT), pytest.raises(NotFound):
        review_item_accept(actor=borough.users[Role.MASH_MANAGER], item_id=10**9)


def test_non_finite_weights_are_kept_as_text(pair: Pair) -> None:
    """JSON has no infinity; an exact identifier match can have an infinite Bayes factor."""
    entry = {"field": "nhs_number", "level": "exact", "agreement": "agree",
             "bayes_factor": float("inf"), "match_weight": float("inf"), "left": "x", "right": "x"}
    with clock.frozen_at(AT):
        item = review_item_open(incoming=pair.custody, candidate=pair.school, match_weight=30.0,
                                match_probability=1.0, comparison=[entry], model_version="m",
                                source="s")
    assert item is not None
    item.refresh_from_db()
    assert item.comparison[0]["bayes_factor"] == "inf"
    assert item.comparison[0]["agreement"] == "agree"
