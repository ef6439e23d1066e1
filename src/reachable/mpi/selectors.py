"""Reads for the master person index.

``pair_known_distinct`` and ``current_person_id`` are questions the linkage engine and the
search ask without an actor (they return no child data). The review queue, a review item and a
merge record are reads of child data: they take the actor, check the policy and are audited
against every person they show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from reachable.access.policies import PersonPolicy
from reachable.audit.services import audit_append
from reachable.chronology.models import Event
from reachable.mpi.models import (
    KnownDistinctPair,
    MergedRow,
    PersonMerge,
    ReviewItem,
    ReviewStatus,
    RowOutcome,
)
from reachable.mpi.policies import MatchReviewPolicy, access_merge, access_review_item
from reachable.organisations.models import User
from reachable.people.models import Address, Identifier, Person, PersonName

MAX_CHAIN = 50  # merges chain (A into B, B into C); no real chain comes near this


def current_person_id(person_id: int) -> int:
    """The person a (possibly merged) record now lives in: follows ``merged_into``."""
    seen = {person_id}
    current = person_id
    for _ in range(MAX_CHAIN):
        target = Person.objects.filter(pk=current).values_list("merged_into", flat=True).first()
        if target is None or target in seen:
            return current
        seen.add(target)
        current = target
    return current


def merged_family(person_id: int) -> set[int]:
    """The person and everyone currently merged into them (directly or through a chain)."""
    family = {person_id}
    frontier = {person_id}
    for _ in range(MAX_CHAIN):
        frontier = set(Person.objects.filter(merged_into__in=frontier)
                       .values_list("pk", flat=True)) - family
        if not frontier:
            break
        family |= frontier
    return family


def pair_known_distinct(person_a_id: int, person_b_id: int) -> bool:
    """Has someone decided these two records are different people? Order-independent.

    A decision about a record carries over to whoever it is merged into: if A is not X and A
    is merged into B, then B is not X either.
    """
    left = merged_family(current_person_id(person_a_id))
    right = merged_family(current_person_id(person_b_id))
    if left & right:
        return False  # the same person now
    pairs = Q()
    for a in left:
        for b in right:
            low, high = min(a, b), max(a, b)
            pairs |= Q(person_low_id=low, person_high_id=high)
    return KnownDistinctPair.objects.filter(pairs).exists()


def known_distinct_among(person_id: int, others: Iterable[int]) -> set[int]:
    """Those of ``others`` someone has decided are not ``person_id``: ``pair_known_distinct``
    for many pairs at once, in a few queries however many others there are.

    The linkage engine asks this of its best candidate and every close rival; one question
    per rival, each following merges both ways, made a crowded block (hundreds of children
    sharing a surname and a birthday) cost seconds per record. Decisions are few: the pairs
    touching the person's merged family are read once, and only the others' current persons
    are compared with them.
    """
    me = current_person_id(person_id)
    family = merged_family(me)
    opposite = {high if low in family else low for low, high in
                KnownDistinctPair.objects.filter(
                    Q(person_low_id__in=family) | Q(person_high_id__in=family))
                .values_list("person_low_id", "person_high_id")}
    if not opposite:
        return set()
    # A pair within the family was decided before a merge made them one: not distinct now.
    distinct = set(_current_ids(opposite).values()) - {me}
    return {other for other, current in _current_ids(set(others)).items()
            if current in distinct}


def _current_ids(person_ids: set[int]) -> dict[int, int]:
    """``current_person_id`` of each, in one query unless one of them was merged."""
    merged_into = dict(Person.objects.filter(pk__in=person_ids)
                       .values_list("pk", "merged_into"))
    return {pk: pk if merged_into.get(pk) is None else current_person_id(pk)
            for pk in person_ids}


def survivor_visible_to(*, actor: User, person_id: int) -> Person | None:
    """For a merged record: the survivor, if ``actor`` may open it; else None.

    Lets a P-ref of a merged record lead to the survivor without revealing anything to
    someone who may not see the survivor (they get the usual "not found").
    """
    survivor_id = current_person_id(person_id)
    if survivor_id == person_id:
        return None
    return PersonPolicy.visible_people(actor).filter(pk=survivor_id).first()


# --- The review queue and the side-by-side page ------------------------------------------------


def review_queue(*, actor: User, status: str = ReviewStatus.OPEN, limit: int = 200
                 ) -> list[ReviewItem]:
    """Review items in one status; open ones oldest first, decided ones newest first."""
    if not MatchReviewPolicy.can_view(actor):
        return []
    items = MatchReviewPolicy.visible_items(actor).filter(status=status).select_related(
        "incoming", "candidate", "decided_by")
    order = ("opened_at", "id") if status == ReviewStatus.OPEN else ("-decided_at", "-id")
    result = list(items.order_by(*order)[:limit])
    audit_append(actor=actor, action="match_reviews.listed", object_type="queue",
                 detail={"status": status, "items": [i.pk for i in result]})
    return result


def review_counts() -> dict[str, int]:
    """How many items are in each status (names no child: not audited)."""
    rows = ReviewItem.objects.values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in ReviewStatus.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


@dataclass(frozen=True)
class PersonSummary:
    """The identifying details of one record, for comparison (no chronology content)."""

    person: Person
    names: list[PersonName]
    identifiers: list[Identifier]
    addresses: list[Address]
    source_agencies: list[str]
    chronology_entries: int


def person_summary(person: Person) -> PersonSummary:
    events = Event.objects.filter(person=person)
    agencies = set(events.values_list("source_agency__name", flat=True).distinct())
    return PersonSummary(
        person=person,
        names=list(PersonName.objects.filter(person=person).order_by("id")),
        identifiers=list(Identifier.objects.filter(person=person).order_by("kind", "value")),
        addresses=list(Address.objects.filter(person=person).order_by("-recorded_at", "-id")),
        source_agencies=sorted(agencies),
        chronology_entries=events.count(),
    )


@dataclass(frozen=True)
class ReviewDetail:
    item: ReviewItem
    incoming: PersonSummary
    candidate: PersonSummary
    can_decide: bool
    known_distinct: bool


def _audit_read(actor: User, action: str, object_type: str, object_id: int,
                people: Iterable[int], detail: dict[str, object]) -> None:
    """One record per person shown, so each record's history lists the read."""
    for person_id in people:
        audit_append(actor=actor, action=action, object_type=object_type, object_id=object_id,
                     person_id=person_id, detail=detail)


def review_item_detail(*, actor: User, item_id: int) -> ReviewDetail:
    """Both records side by side with the comparison; audited against both people."""
    item = access_review_item(actor, item_id)
    detail = ReviewDetail(
        item=item,
        incoming=person_summary(item.incoming),
        candidate=person_summary(item.candidate),
        can_decide=MatchReviewPolicy.can_decide(actor) and item.status == ReviewStatus.OPEN,
        known_distinct=pair_known_distinct(item.incoming_id, item.candidate_id),
    )
    _audit_read(actor, "match_review.viewed", "review_item", item.pk,
                [item.incoming_id, item.candidate_id],
                {"incoming": item.incoming_id, "candidate": item.candidate_id})
    return detail


@dataclass(frozen=True)
class MergeDetail:
    merge: PersonMerge
    moved: list[tuple[str, int]]  # (model label, rows)
    kept: list[MergedRow]
    review_items: list[ReviewItem]
    can_unmerge: bool


def merge_detail(*, actor: User, merge_id: int) -> MergeDetail:
    """A merge record: who, why, what moved by model, what stayed behind and why."""
    merge = access_merge(actor, merge_id)
    moved = list(merge.rows.filter(outcome=RowOutcome.MOVED).values_list("model")
                 .annotate(n=Count("id")).order_by("model"))
    kept = list(merge.rows.filter(outcome=RowOutcome.KEPT).order_by("model", "id")[:200])
    can_unmerge = (MatchReviewPolicy.can_unmerge(actor) and merge.is_active
                   and merge.survivor.merged_into_id is None)
    _audit_read(actor, "person_merge.viewed", "person_merge", merge.pk,
                [merge.survivor_id, merge.merged_id],
                {"survivor": merge.survivor_id, "merged": merge.merged_id})
    return MergeDetail(merge=merge, moved=[(m, n) for m, n in moved], kept=kept,
                       review_items=list(merge.review_items.all()), can_unmerge=can_unmerge)


def merges_of(person_id: int) -> QuerySet[PersonMerge]:
    """Active merges into a person (for the child's page). Callers have opened the person."""
    return PersonMerge.objects.filter(survivor_id=person_id, unmerged_at__isnull=True)

