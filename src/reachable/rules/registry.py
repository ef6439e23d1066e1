"""What a rule is, and the registry of all rules.

A rule is a small declarative object (id, title, triggers, condition, effects, route,
severity, provenance). Ids are contracts (``rules.md``): scenarios, tests and KPIs cite them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from reachable.chronology.models import Event
from reachable.people.models import Person
from reachable.rules.calendar import ClockUnit

# A clock closed by a practitioner acknowledging the rule's alert with information shared.
ACKNOWLEDGED = "ack"


@dataclass(frozen=True)
class RuleContext:
    event: Event
    person: Person
    now: datetime


@dataclass(frozen=True)
class ClockSpec:
    amount: float
    unit: ClockUnit
    met_by: tuple[str, ...]
    escalate_fraction: float = 0.75

    def describe(self) -> str:
        unit = self.unit.value.replace("_", " ")
        if self.amount == 1:
            unit = unit.rstrip("s")
        return f"{self.amount:g} {unit}"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    triggers: tuple[str, ...]
    condition: Callable[[RuleContext], bool]
    route: str
    severity: str
    provenance: tuple[str, ...]
    provenance_text: str
    clock: ClockSpec | None = None
    raises_alert: bool = True
    summary: Callable[[RuleContext], str] = field(default=lambda ctx: "")


_REGISTRY: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.id in _REGISTRY:
        raise ValueError(f"rule {rule.id} registered twice")
    _REGISTRY[rule.id] = rule
    return rule


def all_rules() -> list[Rule]:
    from reachable.rules import catalogue  # noqa: F401  (registers the catalogue on import)

    return list(_REGISTRY.values())


def get_rule(rule_id: str) -> Rule | None:
    all_rules()
    return _REGISTRY.get(rule_id)


def rules_triggered_by(event_type: str) -> list[Rule]:
    return [r for r in all_rules() if event_type in r.triggers]
