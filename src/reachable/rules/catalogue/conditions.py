"""Conditions shared by several rules, named as practitioners would say them."""

from __future__ import annotations

from reachable.childstate.models import Flag
from reachable.childstate.state import level_at_least
from reachable.rules.live_clocks import live_clocks
from reachable.rules.registry import RuleContext


def child_at_event(ctx: RuleContext) -> bool:
    """Under 18 on the day the event happened."""
    return ctx.is_child


def known_child(ctx: RuleContext) -> bool:
    """``rules.md``: under 18 and an open referral/assessment, CIN/CP plan, looked after, youth
    justice order, exploitation screening at moderate or above, a missing episode in the last
    12 months, or an open MASH contact."""
    return ctx.state.known_child


def looked_after(ctx: RuleContext) -> bool:
    return ctx.is_child and ctx.state.looked_after


def exploitation_at_least(ctx: RuleContext, level: str) -> bool:
    return level_at_least(ctx.state.exploitation_level, level)


def has_chronic_condition(ctx: RuleContext) -> bool:
    return ctx.state.has(Flag.CHRONIC_CONDITION)


def clock_running(ctx: RuleContext, *rule_ids: str) -> bool:
    """A clock of one of these rules is running (or paused) for the child: don't start another."""
    return any(clk.rule_id in rule_ids for clk in live_clocks(ctx.person.pk))
