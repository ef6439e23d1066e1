"""Score candidate pairs in pure Python with a saved Splink model.

Online resolution scores a handful of candidates inside the intake transaction; starting a
DuckDB pipeline for each event would cost far more than the arithmetic. So this module reads
the saved model (Splink's settings JSON plus our term-frequency tables, see
``reachable.identity.training``) and applies the same comparison levels
(``splink_settings.COMPARISONS``) as Splink does:

    match weight = log2(prior odds) + sum of each comparison's level weight
                   + term-frequency adjustment on exact levels

Level weights, the prior and the TF adjustment's exact-match u-value are taken from Splink's
own ``Settings`` object built from the JSON, so clamping and defaults are Splink's.
``tests/identity/test_scorer.py`` proves the weights equal Splink's ``predict`` output for a
sample of pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from reachable.identity.features import TF_COLUMNS, Record
from reachable.identity.splink_settings import COMPARISONS, Comparison, Level

Predicate = Callable[[Record, Record], bool]


def _present(left: Record, right: Record, column: str) -> bool:
    return left.get(column) is not None and right.get(column) is not None


def _predicate(level: Level) -> Predicate:
    column = level.column
    if level.kind == "and":
        parts = [_predicate(part) for part in level.parts]
        return lambda a, b: all(part(a, b) for part in parts)
    if level.kind == "null":
        return lambda a, b: a.get(column) is None or b.get(column) is None
    if level.kind == "exact":
        return lambda a, b: _present(a, b, column) and a[column] == b[column]
    if level.kind == "equal_any":
        pairs = level.pairs
        return lambda a, b: any(
            a.get(x) is not None and a.get(x) == b.get(y) for x, y in pairs)
    if level.kind == "jaro_winkler":
        threshold = level.threshold
        return lambda a, b: _present(a, b, column) and JaroWinkler.similarity(
            a[column], b[column]) >= threshold
    if level.kind == "damerau1":
        return lambda a, b: _present(a, b, column) and DamerauLevenshtein.distance(
            a[column], b[column]) <= 1
    if level.kind == "else":
        return lambda a, b: True
    raise ValueError(f"unknown level kind {level.kind!r}")


@dataclass(frozen=True)
class ScoredLevel:
    label: str
    predicate: Predicate
    weight: float
    tf_column: str | None  # exact levels with a term-frequency adjustment
    tf_weight: float
    tf_log2_u: float  # log2 of the u-probability of the exact-match level
    tf_minimum: float
    agreement: str  # agree | partial | disagree | null


@dataclass(frozen=True)
class FieldResult:
    field: str
    level: str
    agreement: str
    match_weight: float
    left: Any
    right: Any

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "level": self.level, "agreement": self.agreement,
                "bayes_factor": 2.0 ** self.match_weight, "match_weight": self.match_weight,
                "left": "" if self.left is None else str(self.left),
                "right": "" if self.right is None else str(self.right)}


def _shown(record: Record, columns: tuple[str, ...]) -> str | None:
    values = [str(record[c]) for c in columns if record.get(c) is not None]
    return ", ".join(values) or None


def probability(weight: float) -> float:
    """Match probability for a match weight (Splink: 2^w / (1 + 2^w))."""
    if weight > 500:
        return 1.0
    odds = 2.0 ** weight
    return odds / (1.0 + odds)


class Scorer:
    """A loaded model: m/u weights per level, term frequencies, its version string."""

    def __init__(self, model: dict[str, Any]) -> None:
        from splink import SettingsCreator  # heavy import, once per loaded model

        self.model = model
        self.version: str = model["version"]
        settings = SettingsCreator.from_path_or_dict(model["splink"]).get_settings("duckdb")
        prior = settings._probability_two_random_records_match
        self.prior_weight = math.log2(prior / (1.0 - prior))
        self.term_frequencies: dict[str, dict[str, float]] = model["term_frequencies"]
        self.tf_floor: dict[str, float] = model["tf_floor"]
        by_name = {c.output_column_name: c for c in settings.comparisons}
        self.comparisons: list[tuple[Comparison, list[ScoredLevel]]] = []
        for spec in COMPARISONS:
            if spec.name not in by_name:
                raise ValueError(f"model {self.version} has no comparison {spec.name!r}")
            levels = by_name[spec.name].comparison_levels
            if len(levels) != len(spec.levels):
                raise ValueError(f"model {self.version}: {spec.name} has {len(levels)} levels, "
                                 f"the code expects {len(spec.levels)}")
            scored = [self._level(spec, position, level, levels)
                      for position, level in enumerate(levels)]
            self.comparisons.append((spec, scored))

    @staticmethod
    def _level(spec: Comparison, position: int, level: Any, levels: list[Any]) -> ScoredLevel:
        expected = spec.levels[position]
        if level.label_for_charts != expected.label:
            raise ValueError(f"{spec.name} level {position} is {level.label_for_charts!r} in "
                             f"the model and {expected.label!r} in the code")
        weight = 0.0 if level.is_null_level else float(level._match_weight)
        tf_column = None
        tf_weight = tf_log2_u = tf_minimum = 0.0
        if level._has_tf_adjustments and not level.is_null_level:
            tf_column = level._tf_adjustment_input_column_name
            tf_weight = float(level._tf_adjustment_weight)
            tf_log2_u = math.log2(level._u_probability_corresponding_to_exact_match(levels))
            tf_minimum = float(level._tf_minimum_u_value)
        if expected.is_null:
            agreement = "null"
        elif expected.kind == "else":
            agreement = "disagree"
        elif position == 1:
            agreement = "agree"
        else:
            agreement = "partial"
        return ScoredLevel(expected.label, _predicate(expected), weight, tf_column, tf_weight,
                           tf_log2_u, tf_minimum, agreement)

    # -- inputs -------------------------------------------------------------------------

    def with_tf(self, record: Record) -> Record:
        """The record with its ``tf_<column>`` values (relative frequency in the population
        the model was trained on; unseen values get the table's floor)."""
        for column in TF_COLUMNS:
            value = record.get(column)
            record[f"tf_{column}"] = (None if value is None else
                                      self.term_frequencies[column].get(value,
                                                                        self.tf_floor[column]))
        return record

    # -- scoring ------------------------------------------------------------------------

    @staticmethod
    def _tf_adjustment(level: ScoredLevel, left: Record, right: Record) -> float:
        if level.tf_column is None or level.tf_weight == 0:
            return 0.0
        tf_l = left.get(f"tf_{level.tf_column}")
        tf_r = right.get(f"tf_{level.tf_column}")
        if tf_l is None and tf_r is None:
            return 0.0
        tf = max(v for v in (tf_l, tf_r, level.tf_minimum) if v is not None)
        return level.tf_weight * (level.tf_log2_u - math.log2(tf))

    def score(self, left: Record, right: Record) -> float:
        """The match weight of a pair (feature records carrying their tf_ values)."""
        total = self.prior_weight
        for _, levels in self.comparisons:
            for level in levels:
                if level.predicate(left, right):
                    total += level.weight + self._tf_adjustment(level, left, right)
                    break
        return total

    def levels(self, left: Record, right: Record) -> dict[str, str]:
        """The label of the level each comparison falls in."""
        found = {}
        for spec, levels in self.comparisons:
            for level in levels:
                if level.predicate(left, right):
                    found[spec.name] = level.label
                    break
        return found

    def explain(self, left: Record, right: Record) -> list[FieldResult]:
        """Per-field breakdown for a reviewer: which level each comparison fell in."""
        results = []
        for spec, levels in self.comparisons:
            for level in levels:
                if level.predicate(left, right):
                    weight = level.weight + self._tf_adjustment(level, left, right)
                    shown = spec.display_columns
                    results.append(FieldResult(spec.name, level.label, level.agreement, weight,
                                               _shown(left, shown), _shown(right, shown)))
                    break
        return results

    @cached_property
    def comparison_names(self) -> list[str]:
        return [spec.name for spec, _ in self.comparisons]
