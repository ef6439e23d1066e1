"""``why_apart``: why a pair known to be one person is not linked, judged on the pair alone.

The linkage benchmark counts these reasons for the true pairs it misses, so that a miss that
tuning could recover (blocking, threshold) is told from one the index makes on purpose
(a safeguard, or evidence that a sibling or a parent would give just as well).
"""

from __future__ import annotations

from typing import Any

import pytest

from reachable.identity.decisions import Apart, why_apart
from reachable.identity.features import Record, features
from reachable.identity.modelstore import Thresholds, default_document, scorer_for
from reachable.identity.scorer import Scorer

HOME = {"postcode": "E17 4QP", "line": "12 Forest Road"}
LIMITS = Thresholds(auto_link=6.0, review=2.0)


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return scorer_for(default_document())


def _record(scorer: Scorer, **subject: Any) -> Record:
    return scorer.with_tf(features(subject))


def test_the_same_child_described_alike_would_be_linked(scorer: Scorer) -> None:
    child = _record(scorer, given_name="Tomasz", family_name="Nowak",
                    date_of_birth="2011-07-19", address=HOME)
    again = _record(scorer, given_name="TOMASZ", family_name="Nowak-Hollis",
                    date_of_birth="2011-07-19", address=HOME)
    assert why_apart(scorer, again, child, LIMITS) == ""


def test_records_sharing_no_blocking_key_are_never_compared(scorer: Scorer) -> None:
    left = _record(scorer, given_name="Amira", family_name="Haddad",
                   date_of_birth="2013-02-11", address=HOME)
    right = _record(scorer, given_name="Jack", family_name="Doyle", date_of_birth="2009-10-30",
                    address={"postcode": "M1 1AE", "line": "3 Mill Lane"})
    assert why_apart(scorer, left, right, LIMITS) == Apart.NEVER_BLOCKED


def test_a_twin_at_home_is_held_by_the_safeguard_however_high_the_weight(scorer: Scorer
                                                                        ) -> None:
    olivia = _record(scorer, given_name="Olivia", family_name="Nowak",
                     date_of_birth="2016-05-02", nhs_number="", address=HOME)
    twin = _record(scorer, given_name="", family_name="Nowak",  # "Twin 1": blanked
                   date_of_birth="2016-05-02", address=HOME)
    assert scorer.score(twin, olivia) >= LIMITS.auto_link
    assert why_apart(scorer, twin, olivia, LIMITS) == Apart.HELD_BY_SAFEGUARD


def test_evidence_a_sibling_or_a_parent_would_give_is_told_apart(scorer: Scorer) -> None:
    child = _record(scorer, given_name="Kacper", family_name="Nowak",
                    date_of_birth="2012-09-14", address=HOME)
    sibling_like = _record(scorer, given_name="Zofia", family_name="Nowak",
                           date_of_birth="2010-01-03", address=HOME)
    parent_like = _record(scorer, given_name="Kacper", family_name="Nowak",
                          date_of_birth="1984-11-20", address=HOME)
    for other in (sibling_like, parent_like):
        assert scorer.score(other, child) < LIMITS.auto_link
        assert why_apart(scorer, other, child, LIMITS) == Apart.BELOW_AUTO_LINK_LIKE_RELATIVES


def test_a_weak_pair_elsewhere_is_a_plain_threshold_miss(scorer: Scorer) -> None:
    here = _record(scorer, given_name="Kacper", family_name="Nowak",
                   date_of_birth="2012-09-14", address=HOME)
    moved = _record(scorer, given_name="Kacper", family_name="Nowakowski",
                    date_of_birth="2012-09-14",
                    address={"postcode": "BS1 4DJ", "line": "40 Harbour Way"})
    assert scorer.score(moved, here) < LIMITS.auto_link
    assert why_apart(scorer, moved, here, LIMITS) == Apart.BELOW_AUTO_LINK
    # The same pair with a lower auto-link weight would link: the reason is the threshold.
    lower = Thresholds(auto_link=scorer.score(moved, here) - 0.01, review=-100.0)
    assert why_apart(scorer, moved, here, lower) == ""
