"""Writes to the master person index: open, accept and reject review items; merge and unmerge.

Each is atomic and appends its audit records in the same transaction. Merges are generic and
exactly reversible (see ``reachable.mpi.repoint`` and docs/decisions/0007).
"""

from __future__ import annotations

import math
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from reachable.audit.services import audit_append
from reachable.core import clock
from reachable.core.errors import NotFound, PermissionDenied, ValidationFailed
from reachable.mpi.models import (
    KnownDistinctPair,
    MergedRow,
    PersonMerge,
    ReviewItem,
    ReviewStatus,
    RowOutcome,
)
from reachable.mpi.policies import MatchReviewPolicy, access_merge, access_review_item
from reachable.mpi.repoint import RestoreConflict, rows_move, rows_restore
from reachable.mpi.selectors import current_person_id, pair_known_distinct
from reachable.organisations.models import User
from reachable.people.index_lock import person_index_hold
from reachable.people.models import Person

AGREEMENTS = frozenset({"agree", "partial", "disagree", "null"})
MAX_NOTES = 4000


def _open_item_for(a_id: int, b_id: int) -> ReviewItem | None:
    return ReviewItem.objects.filter(
        Q(incoming_id=a_id, candidate_id=b_id) | Q(incoming_id=b_id, candidate_id=a_id),
        status=ReviewStatus.OPEN,
    ).order_by("id").first()


def _check_comparison(comparison: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(comparison, list) or not all(isinstance(c, dict) for c in comparison):
        raise ValueError("comparison must be a list of dicts, one per compared field")
    clean = []
    for entry in comparison:
        if "field" not in entry:
            raise ValueError(f"comparison entry without a field name: {entry!r}")
        if entry.get("agreement", "null") not in AGREEMENTS:
            raise ValueError(f"comparison agreement must be one of {sorted(AGREEMENTS)}")
        # JSON has no infinity or NaN (an exact identifier match can have an infinite Bayes
        # factor): store those as text, so the page can still say it.
        clean.append({k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v)
                      for k, v in entry.items()})
    return clean


@transaction.atomic
def review_item_open(
    *,
    incoming: Person,
    candidate: Person,
    match_weight: float,
    match_probability: float,
    comparison: list[dict[str, Any]],
    model_version: str,
    source: str,
) -> ReviewItem | None:
    """Ask staff whether ``incoming`` is ``candidate``. A system action (no actor), audited.

    - Idempotent: an open item for the same two people (either way round) is returned as is.
    - Returns None, writing nothing, when someone has already decided the two are different
      people (``pair_known_distinct``), or when they are already one person.
    - A record merged since the linkage engine read it is replaced by its survivor.
    Raises ValueError for a malformed call (a programming error, not a data problem).
    """
    comparison = _check_comparison(comparison)
    if not 0.0 <= float(match_probability) <= 1.0:
        raise ValueError("match_probability must be between 0 and 1")
    incoming_id = current_person_id(incoming.pk)
    candidate_id = current_person_id(candidate.pk)
    if incoming_id == candidate_id:
        return None
    if pair_known_distinct(incoming_id, candidate_id):
        return None
    existing = _open_item_for(incoming_id, candidate_id)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            item = ReviewItem.objects.create(
                incoming_id=incoming_id, candidate_id=candidate_id,
                match_weight=float(match_weight), match_probability=float(match_probability),
                comparison=comparison, model_version=model_version[:80], source=source[:200],
                status=ReviewStatus.OPEN, opened_at=clock.now(),
            )
    except IntegrityError:  # a concurrent call opened the same pair first
        existing = _open_item_for(incoming_id, candidate_id)
        if existing is None:
            raise
        return existing
    audit_append(
        actor=None, action="match_review.opened", object_type="review_item", object_id=item.pk,
        person_id=incoming_id,
        detail={"incoming": incoming_id, "candidate": candidate_id,
                "match_weight": item.match_weight, "match_probability": item.match_probability,
                "model_version": item.model_version, "source": item.source},
    )
    return item


def _notes(notes: str) -> str:
    text = (notes or "").strip()
    if len(text) > MAX_NOTES:
        raise ValidationFailed({"notes": [f"Notes must be {MAX_NOTES} characters or fewer."]})
    return text


def _item_to_decide(actor: User, item_id: int) -> ReviewItem:
    """The open item, locked; NotFound for people who may not see it, PermissionDenied for
    people who may see it but not decide (IG officers), ValidationFailed once decided."""
    item = access_review_item(actor, item_id)
    if not MatchReviewPolicy.can_decide(actor):
        raise PermissionDenied("Your role can look at review items but not decide them.")
    item = ReviewItem.objects.select_for_update().select_related("incoming", "candidate").get(
        pk=item.pk)
    if item.status != ReviewStatus.OPEN:
        raise ValidationFailed(
            {"non_field_errors": [f"This review item has already been decided "
                                  f"({item.get_status_display().lower()})."]})
    return item


@transaction.atomic
def review_item_accept(*, actor: User, item_id: int, notes: str = "") -> ReviewItem:
    """The two records are the same child: merge the incoming person into the candidate."""
    person_index_hold()  # the merge's lock, before the item's row lock (one order for all)
    item = _item_to_decide(actor, item_id)
    text = _notes(notes)
    merge = person_merge(
        actor=actor, survivor=item.candidate, merged=item.incoming,
        reason=text or f"Clerical review {item.pk} accepted", review_item=item,
    )
    now = clock.now()
    ReviewItem.objects.filter(pk=item.pk).update(
        status=ReviewStatus.ACCEPTED, decided_at=now, decided_by=actor, notes=text, merge=merge)
    item.refresh_from_db()
    audit_append(
        actor=actor, action="match_review.accepted", object_type="review_item",
        object_id=item.pk, person_id=item.candidate_id,
        detail={"incoming": item.incoming_id, "candidate": item.candidate_id,
                "merge": merge.pk, "notes": text},
    )
    return item


def _known_distinct_record(*, actor: User | None, a_id: int, b_id: int, reason: str,
                           review_item: ReviewItem | None) -> KnownDistinctPair:
    low, high = min(a_id, b_id), max(a_id, b_id)
    pair, _ = KnownDistinctPair.objects.get_or_create(
        person_low_id=low, person_high_id=high,
        defaults={"decided_at": clock.now(), "decided_by": actor, "reason": reason,
                  "review_item": review_item},
    )
    return pair


@transaction.atomic
def review_item_reject(*, actor: User, item_id: int, notes: str) -> ReviewItem:
    """The two records are different children: remember it, so they are never offered again."""
    item = _item_to_decide(actor, item_id)
    text = _notes(notes)
    if not text:
        raise ValidationFailed({"notes": ["Say why these are different people."]})
    now = clock.now()
    ReviewItem.objects.filter(pk=item.pk).update(
        status=ReviewStatus.REJECTED, decided_at=now, decided_by=actor, notes=text)
    pair = _known_distinct_record(actor=actor, a_id=item.incoming_id, b_id=item.candidate_id,
                                  reason=text, review_item=item)
    item.refresh_from_db()
    audit_append(
        actor=actor, action="match_review.rejected", object_type="review_item",
        object_id=item.pk, person_id=item.candidate_id,
        detail={"incoming": item.incoming_id, "candidate": item.candidate_id,
                "known_distinct": pair.pk, "notes": text},
    )
    return item


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed({"non_field_errors": [message]})


@transaction.atomic
def person_merge(
    *,
    actor: User | None,
    survivor: Person,
    merged: Person,
    reason: str,
    review_item: ReviewItem | None = None,
) -> PersonMerge:
    """``merged`` is the same human being as ``survivor``: move everything onto the survivor.

    Every row in every app that refers to ``merged`` is re-pointed (``repoint.rows_move``) and
    listed, so ``person_unmerge`` can restore both people exactly. ``merged`` keeps its row,
    marked ``merged_into``: it leaves search, and its P-ref leads to the survivor. Other open
    review items about ``merged`` are superseded (and reopened by an unmerge).

    ``actor`` None is the system (no permission check); anyone else must be allowed to merge.
    """
    if actor is not None and not MatchReviewPolicy.can_merge(actor):
        raise PermissionDenied("Your role cannot merge records.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": ["Say why these records are the same person."]})
    if survivor.pk == merged.pk:
        raise _refuse("A record cannot be merged into itself.")
    # Identity resolution waits meanwhile (``people.index_lock``), so no event lands on
    # ``merged`` after its rows have moved. Then lock both people and read their merge state
    # afresh: two reviewers may race.
    person_index_hold()
    locked = {p.pk: p for p in Person.objects.select_for_update().filter(
        pk__in=[survivor.pk, merged.pk])}
    if len(locked) != 2:
        raise NotFound("No such person.")
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    if survivor.merged_into_id is not None:
        raise _refuse(f"{survivor.ref} has itself been merged into "
                      f"P-{survivor.merged_into_id:06d}: merge into that record instead.")
    if merged.merged_into_id is not None:
        raise _refuse(f"{merged.ref} has already been merged into "
                      f"P-{merged.merged_into_id:06d}.")
    if pair_known_distinct(survivor.pk, merged.pk):
        raise _refuse(f"{merged.ref} and {survivor.ref} have been recorded as different people.")
    now = clock.now()
    merge = PersonMerge.objects.create(survivor=survivor, merged=merged, reason=reason,
                                       merged_at=now, merged_by=actor)
    moves = rows_move(from_id=merged.pk, to_id=survivor.pk)
    MergedRow.objects.bulk_create([
        MergedRow(merge=merge, model=m.model, object_pk=str(m.pk), field=m.field,
                  outcome=RowOutcome.MOVED if m.moved else RowOutcome.KEPT, why=m.why[:200])
        for m in moves
    ], batch_size=500)
    Person.objects.filter(pk=merged.pk).update(merged_into=survivor)
    merged.merged_into = survivor
    others = ReviewItem.objects.filter(Q(incoming=merged) | Q(candidate=merged),
                                       status=ReviewStatus.OPEN)
    if review_item is not None:
        others = others.exclude(pk=review_item.pk)
    superseded = list(others.values_list("pk", flat=True))
    if superseded:
        ReviewItem.objects.filter(pk__in=superseded).update(
            status=ReviewStatus.SUPERSEDED, decided_at=now)
        merge.superseded_items = superseded
        merge.save(update_fields=["superseded_items"])
    moved: dict[str, int] = {}
    kept: dict[str, int] = {}
    for m in moves:
        bucket = moved if m.moved else kept
        bucket[m.model] = bucket.get(m.model, 0) + 1
    detail = {"merge": merge.pk, "survivor": survivor.pk, "merged": merged.pk,
              "reason": reason, "moved": moved, "kept": kept,
              "review_item": review_item.pk if review_item else None,
              "superseded_review_items": superseded}
    for person_id in (survivor.pk, merged.pk):
        audit_append(actor=actor, action="person.merged", object_type="person_merge",
                     object_id=merge.pk, person_id=person_id, detail=detail)
    return merge


@transaction.atomic
def person_unmerge(*, actor: User, merge_id: int, reason: str,
                   mark_distinct: bool = True) -> PersonMerge:
    """Undo a merge exactly: every row it moved points at the merged person again, the merge
    marker is cleared and the review items it superseded reopen.

    Refused while the survivor is itself merged into someone else (undo that merge first), and
    if any moved row no longer points at the survivor (the restoration would not be exact).
    Rows added to the survivor after the merge stay with the survivor. ``mark_distinct``
    (default) records the two as different people, so linkage does not offer them again.
    """
    person_index_hold()  # as ``person_merge``: resolution waits until the rows are back
    merge = access_merge(actor, merge_id)
    if not MatchReviewPolicy.can_unmerge(actor):
        raise PermissionDenied("Only a MASH manager can undo a merge.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": ["Say why these records are not the same person."]})
    merge = PersonMerge.objects.select_for_update().get(pk=merge.pk)
    if not merge.is_active:
        raise _refuse("This merge has already been undone.")
    locked = {p.pk: p for p in Person.objects.select_for_update().filter(
        pk__in=[merge.survivor_id, merge.merged_id])}
    survivor, merged = locked[merge.survivor_id], locked[merge.merged_id]
    if survivor.merged_into_id is not None:
        raise _refuse(f"{survivor.ref} has since been merged into "
                      f"P-{survivor.merged_into_id:06d}: undo that merge first.")
    if merged.merged_into_id != survivor.pk:
        raise _refuse(f"{merged.ref} is no longer marked as merged into {survivor.ref}.")
    moves = merge.rows.filter(outcome=RowOutcome.MOVED).values_list("model", "object_pk",
                                                                    "field")
    try:
        restored = rows_restore(moves=list(moves), from_id=survivor.pk, to_id=merged.pk)
    except RestoreConflict as exc:
        raise _refuse("This merge cannot be undone exactly: " + "; ".join(exc.problems)) from exc
    Person.objects.filter(pk=merged.pk).update(merged_into=None)
    now = clock.now()
    reopened = []
    for item in ReviewItem.objects.filter(pk__in=merge.superseded_items,
                                          status=ReviewStatus.SUPERSEDED).order_by("id"):
        if (_open_item_for(item.incoming_id, item.candidate_id) is None
                and not pair_known_distinct(item.incoming_id, item.candidate_id)):
            ReviewItem.objects.filter(pk=item.pk).update(status=ReviewStatus.OPEN,
                                                         decided_at=None, decided_by=None)
            reopened.append(item.pk)
    distinct = None
    if mark_distinct:
        distinct = _known_distinct_record(
            actor=actor, a_id=survivor.pk, b_id=merged.pk, reason=reason,
            review_item=merge.review_items.order_by("id").first()).pk
    PersonMerge.objects.filter(pk=merge.pk).update(unmerged_at=now, unmerged_by=actor,
                                                   unmerge_reason=reason)
    merge.refresh_from_db()
    detail = {"merge": merge.pk, "survivor": survivor.pk, "merged": merged.pk,
              "reason": reason, "rows_restored": restored, "review_items_reopened": reopened,
              "known_distinct": distinct}
    for person_id in (survivor.pk, merged.pk):
        audit_append(actor=actor, action="person.unmerged", object_type="person_merge",
                     object_id=merge.pk, person_id=person_id, detail=detail)
    return merge
