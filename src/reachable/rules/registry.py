"""What a rule is, and the registry of all rules.

A rule is a small declarative object: id, title, trigger (event types), condition over the
child's derived state, effects (alert, prompt, agenda item, clocks), routes, severity and
provenance. Ids are contracts (``rules.md``): scenarios, tests and KPIs cite them. The engine
(``engine.py``) is the only code that interprets rules; the catalogue only declares them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from reachable.childstate.state import ChildState, child_state
from reachable.chronology.models import Event
from reachable.chronology.related import event_related
from reachable.people.models import Person
from reachable.rules.calendar import ClockUnit

# A clock closed by a practitioner acknowledging the rule's alert with information shared.
ACKNOWLEDGED = "ack"


class Effect(StrEnum):
    ALERT = "alert"  # work for a team: acknowledge with an outcome
    PROMPT = "prompt"  # decision support: information for the practitioner, same queue
    AGENDA = "agenda"  # the child is added to the next meeting of a panel


@dataclass
class RuleContext:
    """What a rule's condition may look at: the event, the person it is about, their state."""

    event: Event
    person: Person
    now: datetime
    _state: ChildState | None = None

    @property
    def state(self) -> ChildState:
        if self._state is None:
            self._state = child_state(self.person, at=self.event.occurred_at)
        return self._state

    @property
    def related(self) -> list[tuple[Person, str]]:
        return event_related(self.event)

    def related_people(self, *roles: str) -> list[Person]:
        return [p for p, role in self.related if not roles or role in roles]

    @property
    def data(self) -> dict[str, Any]:
        return self.event.data or {}

    @property
    def is_child(self) -> bool:
        return self.person.is_child_on(self.event.occurred_at.date())


@dataclass(frozen=True)
class ClockStart:
    """One clock a firing starts: usually one, several for e.g. each MACE action."""

    deadline: datetime | None = None  # None: computed from the rule's amount and unit
    key: str = ""  # matched against closing events' ``ClockSpec.match`` value
    label: str = ""
    owner: str = ""  # a team or agency code the clock's work belongs to (routes by owner)
    start: datetime | None = None  # None: when the triggering event happened
    amount: float | None = None  # overrides the rule's amount (e.g. by RAG rating)
    unit: ClockUnit | None = None


@dataclass(frozen=True)
class ClockSpec:
    """How long the response may take, and which events meet, stop or pause the clock."""

    amount: float
    unit: ClockUnit
    met_by: tuple[str, ...]
    match: str = ""  # data field that must be equal on the trigger and the closing event
    met_if: Callable[[Event], bool] | None = None  # a further test on the closing event
    # The key a closing event carries, when one data field is not enough (a MACE action is
    # its meeting and its description); compared with the key the clock was started with.
    match_key: Callable[[Event], str] | None = None
    stopped_by: tuple[str, ...] = ()  # no longer needed (e.g. the episode of care ended)
    stop_if: Callable[[Event], bool] | None = None  # a further test on the stopping event
    paused_by: tuple[str, ...] = ()
    resumed_by: tuple[str, ...] = ()
    escalate_fraction: float = 0.75
    alert_on_breach: bool = False  # the rule's alert is raised when the clock breaches
    starts: Callable[[RuleContext], list[ClockStart]] | None = None

    def describe(self) -> str:
        return describe_limit(self.amount, self.unit)


def describe_limit(amount: float, unit: ClockUnit | str) -> str:
    text = ClockUnit(unit).value.replace("_", " ")
    if amount == 1:
        text = text.rstrip("s")
    return f"{amount:g} {text}"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    triggers: tuple[str, ...]
    condition: Callable[[RuleContext], bool]
    routes: tuple[str, ...]
    severity: str
    provenance: tuple[str, ...]
    provenance_text: str
    effects: tuple[Effect, ...] = (Effect.ALERT,)
    clock: ClockSpec | None = None
    agenda: str = ""  # the panel for an AGENDA effect: "drm", "mace", "strategy"
    about: Callable[[RuleContext], list[Person]] | None = None  # default: the event's subject
    summary: Callable[[RuleContext], str] = field(default=lambda ctx: "")

    @property
    def route(self) -> str:
        """The first (lead) route, for places that show one."""
        return self.routes[0]

    @property
    def raises_alert(self) -> bool:
        return Effect.ALERT in self.effects or Effect.PROMPT in self.effects

    def effective_clock(self) -> ClockSpec | None:
        """The clock with any local limit from settings (``REACHABLE_CLOCK_LIMITS``)."""
        if self.clock is None:
            return None
        local = getattr(settings, "REACHABLE_CLOCK_LIMITS", {}).get(self.id)
        if not local:
            return self.clock
        return replace(self.clock, amount=float(local.get("amount", self.clock.amount)),
                       unit=ClockUnit(local.get("unit", self.clock.unit)),
                       escalate_fraction=float(local.get("escalate_fraction",
                                                         self.clock.escalate_fraction)))


_REGISTRY: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    global _enabled
    if rule.id in _REGISTRY:
        raise ValueError(f"rule {rule.id} registered twice")
    if not rule.routes:
        raise ValueError(f"rule {rule.id} has no route")
    if Effect.AGENDA in rule.effects and not rule.agenda:
        raise ValueError(f"rule {rule.id} adds to an agenda but names no panel")
    _REGISTRY[rule.id] = rule
    _enabled = None
    return rule


def unregister(rule_id: str) -> None:
    """Remove a rule (tests that declare rules of their own clean up with this)."""
    global _enabled
    _REGISTRY.pop(rule_id, None)
    _enabled = None


_loaded = False


def _load() -> None:
    """Import the catalogue (which registers its rules) once. An import statement costs tens
    of microseconds even when the module is loaded, and the sweep asks once per clock."""
    global _loaded
    if not _loaded:
        from reachable.rules import catalogue  # noqa: F401  (registers the catalogue)
        _loaded = True


@dataclass(frozen=True)
class _Enabled:
    """The enabled catalogue as the settings make it, indexed the ways intake asks.

    Built once and kept until ``REACHABLE_RULES_DISABLED`` or ``REACHABLE_CLOCK_LIMITS``
    change (Django's ``setting_changed`` signal, which ``override_settings`` sends): intake asks
    for every event, and rebuilding 39 rules' indexes each time was a measurable share of the
    catalogue's cost.
    """

    rules: tuple[Rule, ...]
    by_trigger: dict[str, tuple[Rule, ...]]
    clock_types: frozenset[str]


_enabled: _Enabled | None = None
_CATALOGUE_SETTINGS = frozenset({"REACHABLE_RULES_DISABLED", "REACHABLE_CLOCK_LIMITS"})


def _catalogue_settings_changed(*, setting: str, **kwargs: Any) -> None:
    global _enabled
    if setting in _CATALOGUE_SETTINGS:
        _enabled = None


setting_changed.connect(_catalogue_settings_changed,
                        dispatch_uid="reachable.rules.registry.catalogue_settings")


def _current() -> _Enabled:
    global _enabled
    if _enabled is None:
        _load()
        disabled = set(getattr(settings, "REACHABLE_RULES_DISABLED", ()))
        rules = tuple(r for r in _REGISTRY.values() if r.id not in disabled)
        by_trigger: dict[str, list[Rule]] = {}
        clock_types: set[str] = set()
        for rule in rules:
            for trigger in rule.triggers:
                by_trigger.setdefault(trigger, []).append(rule)
            spec = rule.effective_clock()
            if spec is not None:
                clock_types.update(spec.met_by, spec.stopped_by, spec.paused_by,
                                   spec.resumed_by)
        _enabled = _Enabled(rules=rules,
                            by_trigger={k: tuple(v) for k, v in by_trigger.items()},
                            clock_types=frozenset(clock_types))
    return _enabled


def all_rules() -> list[Rule]:
    return list(_current().rules)


def get_rule(rule_id: str) -> Rule | None:
    _load()
    return _REGISTRY.get(rule_id)


def rules_triggered_by(event_type: str) -> list[Rule]:
    return list(_current().by_trigger.get(event_type, ()))


def clock_event_types() -> frozenset[str]:
    """Every event type that meets, stops, pauses or resumes some enabled rule's clock."""
    return _current().clock_types
