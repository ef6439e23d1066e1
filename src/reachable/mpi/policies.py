"""Who may work the master person index's review queue and its merges.

Clerical review is a data-quality duty rather than casework: a reviewer compares two records'
identifying details (names, dates of birth, identifiers, addresses, which agencies know them,
how many chronology entries each has) without reading either chronology, for any child the
linkage engine could not decide about. So the right comes from the role alone, not from a
relationship to the child, and the queue shows identifying details only. Every page view is
audited against both people.

- MASH practitioners and managers decide review items (accept = merge, reject = distinct).
- MASH managers alone undo a merge: a second pair of eyes on a correction of a correction.
- Information-governance officers see the queue, the decisions and the merges, read-only.

Anyone else gets "not found" for an item or a merge (the same answer as for one that does not
exist) and "forbidden" for the queue, which names no child.
"""

from __future__ import annotations

from django.db.models import QuerySet

from reachable.core.errors import NotFound
from reachable.mpi.models import PersonMerge, ReviewItem
from reachable.organisations.models import Role, User

DECIDE_ROLES = frozenset({Role.MASH_PRACTITIONER, Role.MASH_MANAGER})
UNMERGE_ROLES = frozenset({Role.MASH_MANAGER})
VIEW_ROLES = DECIDE_ROLES | {Role.IG_OFFICER}


def _has_role(actor: User | None, roles: frozenset[str]) -> bool:
    return actor is not None and actor.is_active and actor.role in roles


class MatchReviewPolicy:
    """One place for "may this user see / decide / undo" and for the querysets they see."""

    @staticmethod
    def can_view(actor: User | None) -> bool:
        return _has_role(actor, VIEW_ROLES)

    @staticmethod
    def can_decide(actor: User | None) -> bool:
        return _has_role(actor, DECIDE_ROLES)

    @staticmethod
    def can_merge(actor: User | None) -> bool:
        """Merging is what accepting does; the same people may merge directly."""
        return _has_role(actor, DECIDE_ROLES)

    @staticmethod
    def can_unmerge(actor: User | None) -> bool:
        return _has_role(actor, UNMERGE_ROLES)

    @classmethod
    def visible_items(cls, actor: User) -> QuerySet[ReviewItem]:
        if not cls.can_view(actor):
            return ReviewItem.objects.none()
        return ReviewItem.objects.all()

    @classmethod
    def visible_merges(cls, actor: User) -> QuerySet[PersonMerge]:
        if not cls.can_view(actor):
            return PersonMerge.objects.none()
        return PersonMerge.objects.all()


def access_review_item(actor: User, item_id: int | None) -> ReviewItem:
    """The item, or NotFound for missing and forbidden alike."""
    item = (MatchReviewPolicy.visible_items(actor).select_related("incoming", "candidate")
            .filter(pk=item_id).first() if item_id is not None else None)
    if item is None:
        raise NotFound("No such review item.")
    return item


def access_merge(actor: User, merge_id: int | None) -> PersonMerge:
    merge = (MatchReviewPolicy.visible_merges(actor).select_related("survivor", "merged")
             .filter(pk=merge_id).first() if merge_id is not None else None)
    if merge is None:
        raise NotFound("No such merge.")
    return merge
