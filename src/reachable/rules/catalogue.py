"""The rule catalogue (``rules.md``). Each rule cites the lesson it implements."""

from __future__ import annotations

from reachable.rules.calendar import ClockUnit
from reachable.rules.registry import ACKNOWLEDGED, ClockSpec, Rule, RuleContext, register


def _child_at_event(ctx: RuleContext) -> bool:
    return ctx.person.is_child_on(ctx.event.occurred_at.date())


register(Rule(
    id="golden-hour",
    title="Child in custody: share with the MASH within the golden hour",
    triggers=("custody.booked",),
    condition=_child_at_event,
    route="mash",
    severity="red",
    provenance=("CC-F2",),
    provenance_text=(
        "Child C: reachable moments such as arrest and custody passed without a response. "
        "A child booked into custody must reach the MASH within the hour (Operation Harbinger)."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.CLOCK_HOURS, met_by=(ACKNOWLEDGED,)),
    summary=lambda ctx: (
        f"Booked into custody by {ctx.event.data.get('force', 'police')}"
        + (f" at {ctx.event.data['station']}" if ctx.event.data.get("station") else "")
        + (f" for {ctx.event.data['offence']}" if ctx.event.data.get("offence") else "")
    ),
))
