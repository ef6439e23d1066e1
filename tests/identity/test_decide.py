"""``decide`` answers the same whatever order the candidates arrive in.

The batch linker's candidates come from DuckDB in no fixed order. When one person's
profiles score alike (they are recorded as "Christopher" and as "Christophe"), which one the
safeguards judged used to depend on that order: a record typed "Chrisatopher" was linked in
one run and held for review in the next (one pair in 10,000 synthetic records, by the hash
seed of the process).
"""

from __future__ import annotations

from typing import Any

import pytest

from reachable.identity.decisions import Candidate, Kind, best_per_person, decide
from reachable.identity.features import Record, features
from reachable.identity.modelstore import Thresholds, default_document, scorer_for
from reachable.identity.scorer import Scorer

HOME = {"postcode": "E17 4QP", "line": "12 Forest Road"}
LIMITS = Thresholds(auto_link=6.0, review=2.0)


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return scorer_for(default_document())


def _campbell(scorer: Scorer, given_name: str, **subject: Any) -> Record:
    return scorer.with_tf(features({"given_name": given_name, "family_name": "Campbell",
                                    "date_of_birth": "2014-05-06", "sex": "M",
                                    "address": HOME, **subject}))


def _candidates(scorer: Scorer, incoming: Record, *people: tuple[int, str]) -> list[Candidate]:
    return [Candidate(person, scorer.score(incoming, profile), profile)
            for person, name in people for profile in [_campbell(scorer, name)]]


def test_a_typo_of_one_of_a_persons_descriptions_is_theirs_in_any_order(scorer: Scorer
                                                                         ) -> None:
    incoming = _campbell(scorer, "Chrisatopher")  # one keystroke from Christopher only
    scored = _candidates(scorer, incoming, (7, "Christophe"), (7, "Christopher"))
    assert scored[0].weight == scored[1].weight  # the two descriptions score alike
    for order in (scored, scored[::-1]):
        outcome = decide(scorer=scorer, incoming=incoming, scored=order, thresholds=LIMITS)
        assert (outcome.decision, outcome.guard) == (Kind.AUTO_LINK, "")
        assert outcome.best is not None and outcome.best.person_id == 7
        assert outcome.best.profile["forename"] == "christopher"


def test_when_the_other_description_is_another_child_a_person_still_decides(scorer: Scorer
                                                                            ) -> None:
    """Christophe as a twin of his own, not another name of Christopher: held, in any order."""
    incoming = _campbell(scorer, "Chrisatopher")
    scored = _candidates(scorer, incoming, (7, "Christopher"), (8, "Christophe"))
    for order in (scored, scored[::-1]):
        outcome = decide(scorer=scorer, incoming=incoming, scored=order, thresholds=LIMITS)
        assert (outcome.decision, outcome.guard) == (Kind.REVIEW, "possible_twin")


def test_the_profile_kept_for_a_person_does_not_depend_on_the_order(scorer: Scorer) -> None:
    incoming = _campbell(scorer, "Chrisatopher")
    scored = _candidates(scorer, incoming, (7, "Christophe"), (7, "Chrisopher"),
                         (7, "Christoper"))
    kept = {best_per_person(order)[0].profile["forename"]
            for order in (scored, scored[::-1], scored[1:] + scored[:1])}
    assert len(kept) == 1
