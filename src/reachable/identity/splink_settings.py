"""The linkage model's comparisons, written once as data.

Each comparison is a list of ``Level`` specs. ``splink_settings`` turns them into Splink
comparison creators (so Splink writes the SQL for DuckDB or Spark), and
``reachable.identity.scorer`` turns the same specs into Python predicates. Because both read
one definition, the online scorer cannot drift from the model Splink trained: the scorer also
checks each saved level's label against the spec before it trusts the saved m/u values.

Levels only use operations that mean exactly the same in SQL and Python: equality of
pre-computed feature columns (nickname group, swapped date, postcode sector and district,
surname tokens), Jaro-Winkler similarity and a Damerau-Levenshtein distance of at most one.

``baseline_settings`` is the plain Splink configuration the benchmark compares against:
Splink's own library comparisons on raw columns, no project features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

#: Columns of the baseline's raw input (see ``baseline_record``).
BASELINE_COLUMNS = ("forename", "surname", "dob", "sex", "postcode", "address", "nhs_number")


@dataclass(frozen=True)
class Level:
    kind: str  # null | exact | equal_any | jaro_winkler | damerau1 | and | else
    column: str = ""
    label: str = ""
    threshold: float = 0.0
    tf: bool = False
    pairs: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # equal_any only
    parts: tuple[Level, ...] = field(default_factory=tuple)  # and only

    @property
    def is_null(self) -> bool:
        return self.kind == "null" or (self.kind == "and"
                                       and all(p.kind == "null" for p in self.parts))


@dataclass(frozen=True)
class Comparison:
    name: str
    description: str
    levels: tuple[Level, ...]

    @property
    def display_columns(self) -> tuple[str, ...]:
        """The feature columns a reviewer is shown for this comparison."""
        return ("postcode", "address") if self.name == "location" else (self.name,)


def _null(column: str) -> Level:
    return Level("null", column, f"{column} is missing")


def _else() -> Level:
    return Level("else", label="All other comparisons")


# Forename given as surname and surname as forename (a form filled in the wrong order).
SWAPPED = (("forename", "surname"), ("surname", "forename"))

COMPARISONS: tuple[Comparison, ...] = (
    Comparison("forename", "Forename, nickname groups, typos", (
        _null("forename"),
        Level("exact", "forename", "Exact forename", tf=True),
        Level("exact", "forename_canon", "Same nickname group"),
        Level("equal_any", "forename", "Forename and surname swapped", pairs=SWAPPED),
        Level("jaro_winkler", "forename", "Forename Jaro-Winkler >= 0.92", threshold=0.92),
        Level("jaro_winkler", "forename", "Forename Jaro-Winkler >= 0.80", threshold=0.80),
        _else(),
    )),
    Comparison("surname", "Surname, double-barrelled parts, typos", (
        _null("surname"),
        Level("exact", "surname", "Exact surname", tf=True),
        Level("equal_any", "surname", "Surname and forename swapped", pairs=SWAPPED),
        Level("equal_any", "surname", "Shares a part of a double-barrelled surname", pairs=(
            ("surname_a", "surname_a"), ("surname_b", "surname_b"),
            ("surname_a", "surname_b"), ("surname_b", "surname_a"))),
        Level("jaro_winkler", "surname", "Surname Jaro-Winkler >= 0.92", threshold=0.92),
        Level("jaro_winkler", "surname", "Surname Jaro-Winkler >= 0.80", threshold=0.80),
        _else(),
    )),
    Comparison("dob", "Date of birth: typos and day/month swaps", (
        _null("dob"),
        Level("exact", "dob", "Exact date of birth"),
        Level("equal_any", "dob", "Day and month swapped", pairs=(("dob_swap", "dob"),)),
        Level("damerau1", "dob", "One character typed wrong or transposed"),
        _else(),
    )),
    Comparison("sex", "Sex", (
        _null("sex"),
        Level("exact", "sex", "Same sex"),
        _else(),
    )),
    Comparison("location", "Where the person lives: postcode (full, sector, district) and "
               "address line, one comparison because the two are not independent", (
        Level("and", label="postcode and address are missing", parts=(
            Level("null", "postcode"), Level("null", "address"))),
        Level("and", label="Same postcode and address", parts=(
            Level("exact", "postcode"),
            Level("jaro_winkler", "address", threshold=0.90))),
        Level("exact", "postcode", "Same postcode", tf=True),
        Level("jaro_winkler", "address", "Same address, other postcode", threshold=0.90),
        Level("exact", "postcode_sector", "Same postcode sector"),
        Level("exact", "postcode_district", "Same postcode district"),
        _else(),
    )),
    Comparison("nhs_number", "NHS number (or the data set's person identifier)", (
        _null("nhs_number"),
        Level("exact", "nhs_number", "Same NHS number"),
        _else(),
    )),
)

# Blocking rules Splink uses while training (EM needs pairs where matches are common) and to
# estimate the prior; candidate pairs for prediction come from ``blocking.keys_for``.
# The first rule that finds pairs is used with the second: pairs sharing an identifier are
# almost all matches, so they teach every other comparison cleanly (blocking on an address
# would teach the model that siblings match); a population without identifiers (FEBRL without
# its id) falls back to the date of birth.
TRAINING_BLOCKS = ((("nhs_number",), ("dob",)), (("forename_canon", "surname"),))
DETERMINISTIC_RULES = (("forename", "surname", "dob"), ("nhs_number",))
DETERMINISTIC_RECALL = 0.7


def _level_creator(level: Level) -> Any:
    if level.kind == "and":
        creator = cll.And(*[_level_creator(part) for part in level.parts])
        return creator.configure(label_for_charts=level.label, is_null_level=level.is_null)
    if level.kind == "null":
        return cll.NullLevel(level.column).configure(label_for_charts=level.label or None)
    if level.kind == "exact":
        exact = cll.ExactMatchLevel(level.column, term_frequency_adjustments=level.tf)
        return exact.configure(label_for_charts=level.label or None)
    if level.kind == "equal_any":
        sql = " OR ".join(f'("{a}_l" = "{b}_r")' for a, b in level.pairs)
        return cll.CustomLevel(sql, label_for_charts=level.label, base_dialect_str="duckdb")
    if level.kind == "jaro_winkler":
        return cll.JaroWinklerLevel(level.column, level.threshold).configure(
            label_for_charts=level.label or None)
    if level.kind == "damerau1":
        return cll.DamerauLevenshteinLevel(level.column, 1).configure(
            label_for_charts=level.label)
    if level.kind == "else":
        return cll.ElseLevel().configure(label_for_charts=level.label)
    raise ValueError(f"unknown level kind {level.kind!r}")


def project_comparisons() -> list[Any]:
    return [
        cl.CustomComparison(
            output_column_name=c.name, comparison_description=c.description,
            comparison_levels=[_level_creator(level) for level in c.levels],
        )
        for c in COMPARISONS
    ]


LinkType = Literal["link_only", "link_and_dedupe", "dedupe_only"]


def project_settings(*, link_type: LinkType = "dedupe_only") -> SettingsCreator:
    """Settings for training and for Splink's own scoring of candidate pairs."""
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="uid",
        comparisons=project_comparisons(),
        blocking_rules_to_generate_predictions=[block_on("forename_canon", "dob")],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        additional_columns_to_retain=[],
        probability_two_random_records_match=1e-5,
        max_iterations=25,
    )


def baseline_settings(*, link_type: LinkType) -> SettingsCreator:
    """A plain Splink model: library comparisons on raw columns, nothing of ours."""
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="uid",
        comparisons=[
            cl.NameComparison("forename"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address", [0.9]),
            cl.ExactMatch("nhs_number"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("forename", "dob"), block_on("surname", "dob"),
            block_on("forename", "surname"), block_on("postcode", "dob"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


BASELINE_TRAINING_BLOCKS = (("dob",), ("surname",))
