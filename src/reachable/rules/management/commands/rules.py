"""``reachable rules``: the rule catalogue as this installation runs it.

Shows every rule with the lesson or statute it comes from, so a practitioner, auditor or
partnership can check what the platform will do and why: id, title, triggers, effect and
clock (with local limits from ``REACHABLE_CLOCK_LIMITS`` applied), routes, severity and
provenance. ``--format json`` gives the same as a list of objects, for other tools.
Rules switched off locally (``REACHABLE_RULES_DISABLED``) are not listed: they do not run.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reachable.rules.registry import ACKNOWLEDGED, Effect, Rule, all_rules

HEADERS = ("ID", "TITLE", "TRIGGERS", "EFFECT / CLOCK", "ROUTES", "SEVERITY", "PROVENANCE")
WIDTHS = (0, 36, 32, 44, 20, 8, 22)  # the id column is as wide as the longest id: ids never wrap


def _closing(name: str) -> str:
    return "acknowledgement" if name == ACKNOWLEDGED else name


def clock_entry(rule: Rule) -> dict[str, Any] | None:
    spec = rule.effective_clock()
    if spec is None:
        return None
    return {
        "amount": spec.amount,
        "unit": str(spec.unit),
        "met_by": list(spec.met_by),
        "escalate_fraction": spec.escalate_fraction,
        "text": spec.describe(),
    }


def rule_entry(rule: Rule) -> dict[str, Any]:
    """One rule as the catalogue shows it (the JSON format)."""
    return {
        "id": rule.id,
        "title": rule.title,
        "triggers": list(rule.triggers),
        "effects": [str(e) for e in rule.effects],
        "agenda": rule.agenda or None,
        "clock": clock_entry(rule),
        "routes": list(rule.routes),
        "severity": rule.severity,
        "provenance": list(rule.provenance),
        "provenance_text": rule.provenance_text,
    }


def effect_text(rule: Rule) -> str:
    spec = rule.effective_clock()
    parts = []
    for effect in rule.effects:
        if effect == Effect.AGENDA:
            parts.append(f"agenda ({rule.agenda})")
        elif spec is not None and spec.alert_on_breach:
            parts.append(f"{effect} when the clock breaches")
        else:
            parts.append(str(effect))
    text = " + ".join(parts)
    if spec is not None:
        met_by = ", ".join(_closing(m) for m in spec.met_by)
        text += f"; clock {spec.describe()}, met by {met_by}"
    return text


def _row(rule: Rule) -> tuple[str, ...]:
    return (rule.id, rule.title, ", ".join(rule.triggers), effect_text(rule),
            ", ".join(rule.routes), rule.severity, ", ".join(rule.provenance))


def table(rules: list[Rule]) -> str:
    """A plain-text table; long cells wrap within their column."""
    widths = (max([len(HEADERS[0]), *(len(r.id) for r in rules)]), *WIDTHS[1:])

    def lines(cells: tuple[str, ...]) -> list[str]:
        wrapped = [textwrap.wrap(c, w, break_on_hyphens=False) or [""]
                   for c, w in zip(cells, widths, strict=True)]
        height = max(len(w) for w in wrapped)
        return ["  ".join((w[i] if i < len(w) else "").ljust(width)
                          for w, width in zip(wrapped, widths, strict=True)).rstrip()
                for i in range(height)]

    rule_line = "  ".join("-" * w for w in widths)
    out = [*lines(HEADERS), rule_line]
    for rule in rules:
        out += lines(_row(rule))
    out.append(f"{len(rules)} rules")
    return "\n".join(out)


class Command(BaseCommand):
    help = "List the rule catalogue with its provenance, as configured here (local limits)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["table", "json"], default="table",
                            help="a readable table (default) or a JSON list of rules")

    def handle(self, *args: Any, **options: Any) -> None:
        rules = all_rules()
        if options["format"] == "json":
            self.stdout.write(json.dumps([rule_entry(r) for r in rules], indent=2,
                                         ensure_ascii=False))
        else:
            self.stdout.write(table(rules))
