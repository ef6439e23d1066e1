"""Known-distinct decisions as the linkage engine asks about them: for a best candidate and all
its close rivals at once (``known_distinct_among``), with the same answers as asking pair by
pair (``pair_known_distinct``), merges followed both ways."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from reachable.core import clock
from reachable.identity.decisions import Candidate, Kind, decide
from reachable.identity.features import features
from reachable.identity.modelstore import Thresholds, active_scorer
from reachable.mpi.models import KnownDistinctPair
from reachable.mpi.selectors import known_distinct_among, pair_known_distinct
from reachable.people.models import Person
from tests.borough import Borough

AT = datetime.fromisoformat("2025-03-06T10:15:00+00:00")


def _people(count: int) -> list[Person]:
    return [Person.objects.create(given_name=f"Child{n}", family_name="Distinct",
                                  name_key=f"child{n} distinct", created_at=AT)
            for n in range(count)]


def _decided(a: Person, b: Person) -> None:
    low, high = sorted((a.pk, b.pk))
    KnownDistinctPair.objects.create(person_low_id=low, person_high_id=high, decided_at=AT,
                                     reason="Different children.")


def test_many_at_once_answers_as_pair_by_pair(borough: Borough) -> None:
    p = _people(7)
    # Merges: 1 into 0; 4 into 3 and 5 into 4 (a chain). Decisions: 1 is not 2 (so neither
    # is 0, which 1 now lives in); 3 is not 6; 4 is not 5 (decided, then merged anyway).
    Person.objects.filter(pk=p[1].pk).update(merged_into=p[0])
    Person.objects.filter(pk=p[4].pk).update(merged_into=p[3])
    Person.objects.filter(pk=p[5].pk).update(merged_into=p[4])
    _decided(p[1], p[2])
    _decided(p[3], p[6])
    _decided(p[4], p[5])
    ids = [person.pk for person in p]
    expected_somewhere = False
    for person in ids:
        others = [other for other in ids if other != person]
        expected = {other for other in others if pair_known_distinct(person, other)}
        assert known_distinct_among(person, others) == expected, person
        expected_somewhere |= bool(expected)
    assert expected_somewhere  # the decisions are really there to be found
    assert known_distinct_among(p[0].pk, [p[2].pk]) == {p[2].pk}
    assert known_distinct_among(p[5].pk, [p[3].pk, p[4].pk, p[6].pk]) == {p[6].pk}


def test_a_crowded_block_asks_a_few_queries_not_some_per_rival(borough: Borough) -> None:
    p = _people(60)
    _decided(p[0], p[59])
    rivals = [person.pk for person in p[1:]]
    with CaptureQueriesContext(connection) as queries:
        assert known_distinct_among(p[0].pk, rivals) == {p[59].pk}
    assert len(queries) <= 5
    with CaptureQueriesContext(connection) as queries:
        assert known_distinct_among(p[1].pk, rivals) == set()
    assert len(queries) <= 3


def test_a_rival_decided_distinct_holds_an_auto_link_back_for_review(
    borough: Borough,
) -> None:
    """The best candidate scores above auto-link, a close rival above review: if a reviewer
    decided the two are different children, a person must choose between them."""
    best, rival, other = _people(3)
    scorer = active_scorer()
    f = scorer.with_tf(features({"given_name": "Tomasz", "family_name": "Nowak",
                                 "date_of_birth": "2011-07-19",
                                 "address": {"line": "1 High Street", "postcode": "SW2 1AA"}}))
    limits = Thresholds(auto_link=20.0, review=10.0)
    scored = [Candidate(best.pk, 30.0, f), Candidate(rival.pk, 12.0, f),
              Candidate(other.pk, 11.0, f)]
    asked: list[tuple[int, list[int]]] = []

    def known_distinct(person_id: int, others: list[int]) -> set[int]:
        asked.append((person_id, others))
        return known_distinct_among(person_id, others)

    with clock.frozen_at(AT):
        linked = decide(scorer=scorer, incoming=f, scored=scored, thresholds=limits,
                        known_distinct=known_distinct)
        assert (linked.decision, linked.guard) == (Kind.AUTO_LINK, "")
        assert asked == [(best.pk, [rival.pk, other.pk])]  # once, with every rival
        _decided(best, other)
        held = decide(scorer=scorer, incoming=f, scored=scored, thresholds=limits,
                      known_distinct=known_distinct)
    assert (held.decision, held.guard) == (Kind.REVIEW, "known_distinct_rival")
    assert held.best is not None and held.best.person_id == best.pk
