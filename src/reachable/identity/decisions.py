"""From scored candidates to a decision: deterministic, auto-link, review or new person.

Shared by online resolution and the batch linker so the two can never decide differently.
Two safeguards sit above the model's arithmetic, because their mistakes are the costly ones:

- records carrying *different valid* NHS numbers are never linked automatically (each number
  is issued to one person; a mismatch is either two people or a data error a human must see);
- twins: a child or young person (under 25, or of unknown age) at the same home, whose date
  of birth is the same, one keystroke out or missing, and whose forename disagrees outright,
  is missing ("Twin 1", "Baby Boy" are blanked), merely looks alike (Martyn and Mary, Anna
  and "Anrrea", a typo of her twin Andrea) or matches only because one forename is also a
  surname, is exactly what twins (and a false name given to police) look like, whatever the
  surnames say. The model may score it high; a person must decide. One exception: a
  forename the population does not use, one keystroke from the other ("Jre" and "Joe"), is a
  typo, not a twin, unless another child of that home and birthday is also a candidate;
- thin evidence: names and a date of birth alone, with no address or identifier on either
  side to weigh against them, link automatically only when all three agree exactly
  ("Zoey Smith" born the same day as "Zoe Smith" is a question for a person, not a link).

A candidate a reviewer has already declared a different person from a close rival is not
linked automatically either (``pair_known_distinct`` of the master person index).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rapidfuzz.distance import DamerauLevenshtein

from reachable.core import clock
from reachable.identity.blocking import keys_for
from reachable.identity.features import Record, is_valid_nhs_number
from reachable.identity.modelstore import Thresholds
from reachable.identity.scorer import Scorer, probability

NO_LOCATION = "postcode and address are missing"
ELSE = "All other comparisons"
NO_FORENAME = "forename is missing"  # "Twin 1", "Baby Boy": blanked, so it cannot tell twins
NO_DOB = "dob is missing"
SAME_BIRTHDAY = ("Exact date of birth", "Day and month swapped")
# What cannot tell twins apart either: a birthday one keystroke out, or none given at all.
# (Found at 200,000 records: twins linked through a typed year and through a missing date.)
BIRTHDAY_NOT_DIFFERENT = (*SAME_BIRTHDAY, "One character typed wrong or transposed",
                          NO_DOB)
SWAPPED_NAMES = "Forename and surname swapped"
# The same home, or nearby: families move within a sector, and an agency may hold the old one.
SAME_HOME = ("Same postcode and address", "Same postcode", "Same address, other postcode",
             "Same postcode sector", "Same postcode district")
SIMILAR_FORENAME = ("Forename Jaro-Winkler >= 0.92", "Forename Jaro-Winkler >= 0.80")
TWIN_GUARD_AGE = 25  # twins share a home as children and young people
NO_NHS = "nhs_number is missing"


class Kind:
    DETERMINISTIC = "deterministic"
    AUTO_LINK = "auto_link"
    REVIEW = "review"
    NEW = "new"


@dataclass
class Candidate:
    person_id: int
    weight: float
    profile: Record


@dataclass
class Outcome:
    decision: str
    best: Candidate | None = None
    guard: str = ""  # why an auto-link was held back for review
    ranked: list[Candidate] = field(default_factory=list)

    @property
    def weight(self) -> float | None:
        return None if self.best is None else self.best.weight

    @property
    def probability(self) -> float | None:
        return None if self.best is None else probability(self.best.weight)


def _described(candidate: Candidate) -> list[tuple[str, str]]:
    """A fixed order among one person's profiles that score alike (what each says)."""
    return sorted((key, str(value)) for key, value in candidate.profile.items())


def best_per_person(scored: list[Candidate]) -> list[Candidate]:
    """One candidate per person (their best-scoring profile), best first.

    Among a person's profiles that score alike, the choice does not depend on the order the
    candidates came in (the batch linker's come from DuckDB, in no fixed order).
    """
    best: dict[int, Candidate] = {}
    for candidate in scored:
        held = best.get(candidate.person_id)
        if held is None or candidate.weight > held.weight or (
                candidate.weight == held.weight and _described(candidate) < _described(held)):
            best[candidate.person_id] = candidate
    return sorted(best.values(), key=lambda c: (-c.weight, c.person_id))


def _young(dob: str | None) -> bool:
    """Under 25, or of unknown age (a missing date of birth must not lift the twin guard)."""
    if not dob:
        return True
    try:
        born = int(dob[:4])
    except ValueError:
        return False
    return clock.now().year - born < TWIN_GUARD_AGE


def _both_known(scorer: Scorer, left: Record, right: Record) -> bool:
    """Two similar forenames that are both names the population uses (Martyn and Mary) are
    two names, not a typo of one (a typo is a string the population rarely shows)."""
    floor = scorer.tf_floor["forename"]
    return all((record.get("tf_forename") or 0.0) > floor for record in (left, right))


def _one_keystroke_typo(scorer: Scorer, left: Record, right: Record) -> bool:
    """One forename is a string the population does not use and is one keystroke (a letter
    wrong, missing, added or two swapped) from the other: "Jre" and "Joe", "Kzi" and "Kai".
    That is a typo of one name, not a twin's name: no parents name twins one keystroke
    apart (Philip and Phillip), so a twin's typo is one keystroke from their own name and at
    least one more from their twin's. (A typo one keystroke from both, Mix for Max and Mia,
    is held back when the other twin is also a candidate: ``guard``'s ``rivals``.)"""
    forename_l, forename_r = left.get("forename"), right.get("forename")
    if not forename_l or not forename_r or _both_known(scorer, left, right):
        return False
    return DamerauLevenshtein.distance(forename_l, forename_r) <= 1


def _names_crossed(left: Record, right: Record) -> bool:
    return bool(left.get("forename") and left.get("surname")
                and left.get("forename") == right.get("surname")
                and left.get("surname") == right.get("forename"))


def _at_twin_home(levels: dict[str, str], incoming: Record, candidate: Record) -> bool:
    """Same home, a birthday that does not differ, young: where a twin would be found."""
    return (levels["dob"] in BIRTHDAY_NOT_DIFFERENT and levels["location"] in SAME_HOME
            and _young(incoming.get("dob") or candidate.get("dob")))


def guard(scorer: Scorer, incoming: Record, candidate: Record,
          rivals: list[Record] | None = None) -> str:
    """Why this pair must not be linked automatically, or ''.

    ``rivals``: the profiles of the other people who scored at least the review weight.
    """
    nhs_in, nhs_cand = incoming.get("nhs_number"), candidate.get("nhs_number")
    if (nhs_in and nhs_cand and nhs_in != nhs_cand
            and is_valid_nhs_number(nhs_in) and is_valid_nhs_number(nhs_cand)):
        return "different_nhs_number"
    levels = scorer.levels(incoming, candidate)
    # Forenames that do not agree as one name: different, missing, only alike as strings
    # (Katherine and Kathleen, Anna and "Anrrea", a typo of her twin Andrea), or sharing a
    # name only because one forename is a surname ("Stewart Stewart" and "Abbie Stewart"; a
    # real swap has both names crossed).
    forenames_differ = levels["forename"] in (ELSE, NO_FORENAME, *SIMILAR_FORENAME) or (
        levels["forename"] == SWAPPED_NAMES and not _names_crossed(incoming, candidate))
    # Twins share a birthday and a home; their surnames need not agree (one may be recorded
    # under a step-parent's name), so a differing surname does not lift the guard.
    if _at_twin_home(levels, incoming, candidate) and forenames_differ:
        if not _one_keystroke_typo(scorer, incoming, candidate):
            return "possible_twin"
        # A typo ("Zai" for Zac) is taken for one unless another child of that home and
        # birthday is also in the running ("Zai" is one keystroke from Kai too): then a
        # person must say whose typo it is.
        if any(_at_twin_home(scorer.levels(incoming, rival), incoming, rival)
               for rival in rivals or ()):
            return "possible_twin"
    exact = (levels["forename"] in ("Exact forename", "Same nickname group")
             and levels["surname"] == "Exact surname" and levels["dob"] == "Exact date of birth")
    if not exact and levels["location"] == NO_LOCATION and levels["nhs_number"] == NO_NHS:
        return "names_and_date_only"
    return ""


def decide(*, scorer: Scorer, incoming: Record, scored: list[Candidate],
           thresholds: Thresholds,
           known_distinct: Callable[[int, list[int]], set[int]] | None = None) -> Outcome:
    """Auto-link, review or new person for ``incoming`` given its scored candidates.

    ``known_distinct(best, rivals)`` names the rivals a reviewer has decided are not the best
    candidate (``mpi.selectors.known_distinct_among``): if any is still in the running, a
    person must choose between them.
    """
    ranked = best_per_person(scored)
    if not ranked or ranked[0].weight < thresholds.review:
        return Outcome(Kind.NEW, ranked[0] if ranked else None, ranked=ranked)
    best = ranked[0]
    if best.weight < thresholds.auto_link:
        return Outcome(Kind.REVIEW, best, ranked=ranked)
    rivals = [c for c in ranked[1:] if c.weight >= thresholds.review]
    rival_profiles = [c.profile for c in rivals]
    reason = guard(scorer, incoming, best.profile, rival_profiles)
    if reason:
        # The person may be recorded under several descriptions that score alike ("Christopher"
        # and "Christophe"): the record is theirs if one of those explains it without a
        # safeguard (a one-keystroke typo of the first). Judged by whichever came first, the
        # answer would depend on the order the candidates arrived in.
        alike = sorted((c for c in scored if c.person_id == best.person_id
                        and c.weight == best.weight and c is not best), key=_described)
        cleared = next((c for c in alike
                        if not guard(scorer, incoming, c.profile, rival_profiles)), None)
        if cleared is not None:
            best, reason = cleared, ""
    if not reason and known_distinct is not None and rivals and known_distinct(
            best.person_id, [rival.person_id for rival in rivals]):
        reason = "known_distinct_rival"
    if reason:
        return Outcome(Kind.REVIEW, best, guard=reason, ranked=ranked)
    return Outcome(Kind.AUTO_LINK, best, ranked=ranked)


class Apart:
    """Why a pair known to be one person is not linked automatically (``why_apart``)."""

    NEVER_BLOCKED = "never_blocked"
    HELD_BY_SAFEGUARD = "held_by_safeguard"
    BELOW_AUTO_LINK_LIKE_RELATIVES = "below_auto_link_like_relatives"
    BELOW_AUTO_LINK = "below_auto_link"
    ALL = (NEVER_BLOCKED, HELD_BY_SAFEGUARD, BELOW_AUTO_LINK_LIKE_RELATIVES, BELOW_AUTO_LINK)


def why_apart(scorer: Scorer, incoming: Record, candidate: Record, thresholds: Thresholds
              ) -> str:
    """Why ``incoming`` would not be linked to ``candidate`` on the evidence of the pair alone
    ('' if it would be): they share no blocking key, so are never compared; a safeguard holds
    a high weight back; or the weight is below the auto-link weight, and if so whether the
    pair looks like relatives at one home (a forename or a date of birth that disagrees or is
    missing: a sibling, a parent of the same name, a twin), which a safeguarding index must
    not link on its own whatever a benchmark's truth says.

    A diagnostic for benchmarks with known truth (``bench.linkage``): it tells a threshold
    or blocking miss, which tuning could recover, from a miss the index keeps on purpose.
    """
    if not set(keys_for(incoming)) & set(keys_for(candidate)):
        return Apart.NEVER_BLOCKED
    if scorer.score(incoming, candidate) >= thresholds.auto_link:
        return Apart.HELD_BY_SAFEGUARD if guard(scorer, incoming, candidate) else ""
    levels = scorer.levels(incoming, candidate)
    unsure = (levels["forename"] in (ELSE, NO_FORENAME) or levels["dob"] in (ELSE, NO_DOB))
    if levels["location"] in SAME_HOME and unsure:
        return Apart.BELOW_AUTO_LINK_LIKE_RELATIVES
    return Apart.BELOW_AUTO_LINK
