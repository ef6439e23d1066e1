"""Which person is this? The one function that turns an agency's description of a subject into
a person in the index, inside the intake transaction.

Deterministic first: a strong identifier (NHS number, UPN, PNC id, local child id scoped to
its issuer) links at once. Otherwise the subject's blocking keys fetch candidate profiles from
the index (one indexed query), the saved Splink model scores only those candidates in pure
Python (``scorer``), and ``decisions.decide`` turns the best weight into auto-link, review (a
new person plus a review item against the best candidate) or a new person. Every resolution
writes a ``LinkDecision`` naming the model version, and the subject's description becomes a
match profile with blocking keys so later records find this person.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reachable.identity.batch_index import BatchIndex
from reachable.identity.decisions import Candidate, Kind, Outcome, decide
from reachable.identity.features import Record, features
from reachable.identity.models import LinkDecision
from reachable.identity.modelstore import active_scorer, scorer_pinned, thresholds
from reachable.identity.profiles import candidates_for, profile_add
from reachable.identity.scorer import Scorer
from reachable.people.index_lock import person_index_hold
from reachable.people.models import Identifier, IdentifierKind, Person
from reachable.people.records import (
    IdentifierKey,
    address_row_add,
    identifier_row_add,
    identifiers_held,
    name_row_add,
    person_row_create,
    records_batched,
    records_flush,
)

STRONG_IDENTIFIERS = (
    (IdentifierKind.NHS, "nhs_number"),
    (IdentifierKind.UPN, "upn"),
    (IdentifierKind.PNC, "pnc_id"),
    (IdentifierKind.LOCAL, "local_child_id"),
)


@dataclass(frozen=True)
class Resolution:
    person: Person
    created: bool
    # "nhs_number", "upn", ... (deterministic); "name_and_dob" (linked by the model on an exact
    # name and date of birth); "probabilistic" (linked by the model otherwise); "new"
    matched_on: str
    decision: str = Kind.NEW  # deterministic | auto_link | review | new
    match_weight: float | None = None
    match_probability: float | None = None
    model_version: str = ""
    review_candidate_id: int | None = None  # the best candidate, when sent for review
    guard: str = ""  # why a high score was held back for review


_index: ContextVar[BatchIndex | None] = ContextVar("resolution_batch", default=None)


@contextmanager
def resolutions_batched() -> Iterator[None]:
    """Resolve many subjects in one transaction (a batch of events) with less per-subject work.

    The active model is looked up once; ``resolutions_prefetch`` reads what the batch's
    subjects need from the index in a few queries (``batch_index``, ``people.records``); new
    names, addresses, identifiers, profiles and link decisions are held in memory, seen by the
    rest of the batch, and inserted together when the block ends without an error. If the block
    fails, nothing held is written and the caller's transaction rolls back.
    """
    index = BatchIndex()
    token = _index.set(index)
    try:
        with scorer_pinned(), records_batched():
            yield
            records_flush()
            index.flush()
    finally:
        _index.reset(token)


def resolutions_prefetch(subjects: Iterable[tuple[dict[str, Any], str]]) -> set[int]:
    """Read what resolving these (subject, agency code) pairs will ask of the index, in a
    few queries for all of them; returns the people they may resolve to (identifier holders
    and candidates). Only inside ``resolutions_batched``; else nothing."""
    index = _index.get()
    if index is None:
        return set()
    _index_hold(index)  # before the first read of the index: see ``resolve_subject``
    scorer = active_scorer()
    keys: list[IdentifierKey] = []
    records: list[Record] = []
    for subject, agency_code in subjects:
        keys.extend(_identifier_keys(subject, agency_code))
        records.append(index.features_of(subject, scorer))
    held = identifiers_held(keys)
    return index.prefetch(records,
                          person_ids={identifier.person_id for identifier in held.values()})


def _index_hold(index: BatchIndex | None) -> None:
    """The person index's lock, once per batch (a batch is one transaction) or per subject."""
    if index is None or not index.locked:
        person_index_hold()
    if index is not None:
        index.locked = True


def _issuer(kind: str, agency_code: str) -> str:
    return agency_code if kind == IdentifierKind.LOCAL else ""


def _identifier_keys(subject: dict[str, Any], agency_code: str) -> list[IdentifierKey]:
    return [(kind, _issuer(kind, agency_code), subject[key])
            for kind, key in STRONG_IDENTIFIERS if subject.get(key)]


def _held_identifiers(subject: dict[str, Any], agency_code: str) -> dict[str, Identifier]:
    """The subject's strong identifiers already in the index, by subject key (one query)."""
    wanted = _identifier_keys(subject, agency_code)
    if not wanted:
        return {}
    found = identifiers_held(wanted)
    subject_keys = [key for _, key in STRONG_IDENTIFIERS if subject.get(key)]
    return {key: found[wanted_key] for key, wanted_key in zip(subject_keys, wanted, strict=True)
            if wanted_key in found}


def _match_identifier(held: dict[str, Identifier]) -> tuple[Person, str] | None:
    for _, key in STRONG_IDENTIFIERS:  # in order of strength
        if key in held:
            return held[key].person, key
    return None


def _known_distinct(best: int, rivals: list[int]) -> set[int]:
    from reachable.mpi.selectors import known_distinct_among  # the MPI sits below identity

    return known_distinct_among(best, rivals)


def _match_model(scorer: Scorer, f: Record, index: BatchIndex | None) -> Outcome:
    scored = []
    for row in (candidates_for(f) if index is None else index.candidates(f)):
        profile = scorer.with_tf(row)
        scored.append(Candidate(row["person_id"], scorer.score(f, profile), profile))
    return decide(scorer=scorer, incoming=f, scored=scored, thresholds=thresholds(),
                  known_distinct=_known_distinct)


def _exact_name_and_dob(f: Record, profile: Record) -> bool:
    return all(f.get(c) is not None and f.get(c) == profile.get(c)
               for c in ("forename", "surname", "dob"))


def resolve_subject(*, subject: dict[str, Any], agency_code: str, at: datetime,
                    source: str = "") -> Resolution:
    """Find or create the person; record any new names, identifiers and address on them.

    ``source`` names the incoming record on the link decision (``event:<agency>:<record>``);
    it defaults to the agency.

    Resolutions are serialised: the transaction takes the person index's lock before it
    reads the index and keeps it to its end (``people.index_lock``). Two agencies' first
    events about one new child, arriving together, would otherwise each find no one and make
    two children; the second now waits, then finds the first's.
    """
    index = _index.get()
    _index_hold(index)
    given = subject.get("given_name") or ""
    family = subject.get("family_name") or ""
    dob = subject.get("date_of_birth")
    scorer = active_scorer()
    f = scorer.with_tf(features(subject)) if index is None else index.features_of(subject, scorer)
    held = _held_identifiers(subject, agency_code)
    hit = _match_identifier(held)
    outcome: Outcome | None = None
    if hit is not None:
        person, matched_on = hit
        if index is not None:
            person = index.same_person(person)
        created = False
    else:
        outcome = _match_model(scorer, f, index)
        best = outcome.best
        if outcome.decision == Kind.AUTO_LINK and best is not None:
            person = (Person.objects.get(pk=best.person_id) if index is None
                      else index.person(best.person_id))
            matched_on = ("name_and_dob" if _exact_name_and_dob(f, best.profile)
                          else "probabilistic")
            created = False
        else:
            person = person_row_create(
                given_name=given, family_name=family, date_of_birth=dob,
                sex=subject.get("sex") or "U", at=at, source_agency=agency_code,
            )
            if index is not None:
                index.person_created(person)
            matched_on, created = "new", True
    _enrich(person, subject, agency_code, at, created, held)
    if index is None:
        profile_add(person=person, f=f, at=at, new_person=created)
    else:
        index.profile_add(person=person, f=f, at=at)
    resolution = Resolution(
        person=person, created=created, matched_on=matched_on,
        decision=Kind.DETERMINISTIC if outcome is None else outcome.decision,
        match_weight=None if outcome is None else outcome.weight,
        match_probability=None if outcome is None else outcome.probability,
        model_version=scorer.version,
        review_candidate_id=(outcome.best.person_id if outcome is not None
                             and outcome.decision == Kind.REVIEW and outcome.best else None),
        guard="" if outcome is None else outcome.guard,
    )
    source = source or f"event:{agency_code}"
    decision = {
        "person_id": person.pk, "candidate_id": resolution.review_candidate_id,
        "source": source[:200], "agency_code": agency_code, "decision": resolution.decision,
        "matched_on": matched_on, "match_weight": resolution.match_weight,
        "match_probability": resolution.match_probability, "model_version": scorer.version,
        "created_at": at}
    if index is None:
        LinkDecision.objects.create(**decision)
    else:
        index.decisions.append(decision)  # written with the batch's others (``flush``)
    if outcome is not None and outcome.decision == Kind.REVIEW and outcome.best is not None:
        review_open(scorer=scorer, incoming=person, incoming_features=f, outcome=outcome,
                    source=source)
    return resolution


def review_open(*, scorer: Scorer, incoming: Person, incoming_features: Record,
                outcome: Outcome, source: str) -> None:
    """Ask the master person index's reviewers whether the new person is the candidate."""
    from reachable.mpi.services import review_item_open  # the MPI sits below identity

    best = outcome.best
    assert best is not None
    comparison = [r.as_dict() for r in scorer.explain(incoming_features, best.profile)]
    if outcome.guard:
        comparison.append({"field": "safeguard", "level": outcome.guard,
                           "agreement": "disagree", "bayes_factor": 1.0, "match_weight": 0.0,
                           "left": "", "right": ""})
    review_item_open(incoming=incoming, candidate=Person.objects.get(pk=best.person_id),
                     match_weight=best.weight, match_probability=outcome.probability or 0.0,
                     comparison=comparison, model_version=scorer.version, source=source)


def _enrich(person: Person, subject: dict[str, Any], agency_code: str, at: datetime,
            created: bool, held: dict[str, Identifier]) -> None:
    given = subject.get("given_name") or ""
    family = subject.get("family_name") or ""
    if not created and (given or family):
        name_row_add(person=person, given_name=given, family_name=family,
                     source_agency=agency_code)
    changed = []
    if person.date_of_birth is None and subject.get("date_of_birth"):
        person.date_of_birth = subject["date_of_birth"]
        changed.append("date_of_birth")
    if person.sex == "U" and subject.get("sex") in ("M", "F"):
        person.sex = subject["sex"]
        changed.append("sex")
    if changed:
        person.save(update_fields=changed)
    for kind, key in STRONG_IDENTIFIERS:
        # Identifiers someone already holds are never moved (looked up above, same transaction).
        if subject.get(key) and key not in held:
            identifier_row_add(person=person, kind=kind, value=subject[key],
                               issuer=_issuer(kind, agency_code), checked=True)
    address = subject.get("address")
    if address and address.get("postcode"):
        address_row_add(person=person, postcode=address["postcode"],
                        line=address.get("line", ""), at=at, source_agency=agency_code,
                        new_person=created)
