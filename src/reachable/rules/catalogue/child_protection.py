"""Rules: child protection (``rules.md``, "Child protection").

Choices made where ``rules.md`` leaves room (each is a local default, not statute):

- ``strategy-quorum``: police, health and children's social care must all *attend*; a GP
  counts as health. The alert goes to the CSC team manager (the escalation ``rules.md`` asks
  for) with a clock of 1 working day, met by a quorate strategy discussion (reconvened) or by
  the manager acknowledging with what was done, so non-quorate discussions cannot quietly
  stand. The summary says which agencies were missing and whether they were invited.
- ``mace-not-cp-substitute``: the vocabulary has no separate missing-meeting event (the
  all-age Exploitation and Risk Panel merged the missing and exploitation panels), so the
  trigger is ``mace.discussed`` with ``significant_harm``. It does not fire while a section 47
  enquiry is already open: child protection procedures are then running.
- ``icpc-15wd``: one clock per enquiry (a second strategy discussion while it runs does not
  restart it). A section 47 enquiry that concludes without a conference (no further action
  or child in need) *stops* the clock rather than meeting it, so the 15-day figure counts
  only conferences.
- ``rcpc-3m`` / ``rcpc-6m``: ``rcpc-3m`` starts at an initial conference that makes a plan
  (or ``cp_plan.started``, whichever an agency sends; never two clocks at once); each review
  that keeps the plan meets the running clock and starts the next 6 months. Calendar months;
  ``cp_plan.ended`` stops them. Reviews are booked at the conference, so these clocks raise
  their alert only if the review is overdue (the chairs' manager is told at 75 %); a months-
  long open alert would be queue noise.
"""

from __future__ import annotations

from reachable.childstate.models import Flag
from reachable.chronology.models import Event
from reachable.rules.calendar import ClockUnit
from reachable.rules.catalogue.conditions import clock_running
from reachable.rules.registry import (
    ACKNOWLEDGED,
    ClockSpec,
    ClockStart,
    Rule,
    RuleContext,
    register,
)

# The statutory minimum at a strategy discussion (Working Together; Sarah review S-R2).
QUORUM = ("police", "health", "csc")
QUORUM_NAMES = {"police": "police", "health": "health", "csc": "children's social care"}
HEALTH_KINDS = frozenset({"health", "gp"})


def _agencies(value: object) -> set[str]:
    """The agency kinds a strategy discussion lists, with a GP counted as health."""
    items = value if isinstance(value, list) else []
    kinds = {str(item).strip().casefold() for item in items}
    if kinds & HEALTH_KINDS:
        kinds.add("health")
    return kinds


def missing_from_quorum(data: dict[str, object]) -> list[str]:
    """Which of police, health and children's social care did not attend."""
    attended = _agencies(data.get("attendees"))
    return [kind for kind in QUORUM if kind not in attended]


def _quorate(event: Event) -> bool:
    return event.type == "strategy_discussion.held" and not missing_from_quorum(event.data or {})


def _non_quorate(ctx: RuleContext) -> bool:
    return ctx.is_child and bool(missing_from_quorum(ctx.data))


def _quorum_summary(ctx: RuleContext) -> str:
    missing = missing_from_quorum(ctx.data)
    invited = _agencies(ctx.data.get("invited")) if ctx.data.get("invited") else None
    parts = []
    for kind in missing:
        name = QUORUM_NAMES[kind]
        if invited is not None and kind not in invited:
            name += " (not invited)"
        parts.append(name)
    return "Strategy discussion not quorate: no " + ", ".join(parts)


register(Rule(
    id="strategy-quorum",
    title="Strategy discussion without police, health and children's social care",
    triggers=("strategy_discussion.held",),
    condition=_non_quorate,
    routes=("csc_manager",),
    severity="amber",
    provenance=("S-R2", "CC-F3"),
    provenance_text=(
        "Sarah: strategy meetings must be convened with health, police and children's social "
        "care in attendance as a minimum. Child C: multi-agency case discussions were not held "
        "or not joined up. A strategy discussion without all three goes to the team manager to "
        "reconvene it (or record why not) within a working day."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.WORKING_DAYS,
                    met_by=(ACKNOWLEDGED, "strategy_discussion.held"),
                    met_if=_quorate),
    summary=_quorum_summary,
))


def _significant_harm_at_mace(ctx: RuleContext) -> bool:
    return (ctx.is_child and bool(ctx.data.get("significant_harm"))
            and not ctx.state.has(Flag.S47_ENQUIRY))


register(Rule(
    id="mace-not-cp-substitute",
    title="Significant harm raised at MACE: hold a strategy discussion",
    triggers=("mace.discussed",),
    condition=_significant_harm_at_mace,
    routes=("csc_manager",),
    severity="red",
    provenance=("S-R2",),
    provenance_text=(
        "Sarah: missing and MACE meetings were used in place of child protection procedures. "
        "When a MACE or missing meeting records concerns of significant harm, a strategy "
        "discussion must follow within a working day."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.WORKING_DAYS,
                    met_by=("strategy_discussion.held",)),
    summary=lambda ctx: "MACE recorded significant harm"
    + (f" (meeting {ctx.data['meeting_id']})" if ctx.data.get("meeting_id") else "")
    + ": strategy discussion needed",
))


def _running(rule_ids: tuple[str, ...], ctx: RuleContext) -> bool:
    return clock_running(ctx, *rule_ids)


def _s47_initiated(ctx: RuleContext) -> bool:
    return (ctx.is_child and ctx.data.get("outcome") == "s47"
            and not _running(("icpc-15wd",), ctx))


def _enquiry_ended_without_conference(event: Event) -> bool:
    return (event.data or {}).get("outcome") in ("no_further_action", "cin")


register(Rule(
    id="icpc-15wd",
    title="Initial child protection conference within 15 working days",
    triggers=("strategy_discussion.held",),
    condition=_s47_initiated,
    routes=("cp_chairs",),
    severity="amber",
    provenance=("Working Together",),
    provenance_text=(
        "Working Together to Safeguard Children: an initial child protection conference is "
        "held within 15 working days of the strategy discussion that initiated section 47 "
        "enquiries."
    ),
    clock=ClockSpec(amount=15, unit=ClockUnit.WORKING_DAYS, met_by=("icpc.held",),
                    stopped_by=("s47.completed",), stop_if=_enquiry_ended_without_conference),
    summary=lambda ctx: "Section 47 enquiry started: conference due within 15 working days",
))


def _plan_made(ctx: RuleContext) -> bool:
    if not ctx.is_child:
        return False
    if ctx.event.type == "icpc.held" and not ctx.data.get("plan"):
        return False
    return not _running(("rcpc-3m", "rcpc-6m"), ctx)


register(Rule(
    id="rcpc-3m",
    title="First review child protection conference within 3 months",
    triggers=("icpc.held", "cp_plan.started"),
    condition=_plan_made,
    routes=("cp_chairs",),
    severity="amber",
    provenance=("Working Together",),
    provenance_text=(
        "Working Together to Safeguard Children: the first review conference is held within "
        "three months of the initial conference."
    ),
    clock=ClockSpec(amount=3, unit=ClockUnit.MONTHS, met_by=("cp_review.held",),
                    stopped_by=("cp_plan.ended",), alert_on_breach=True,
                    starts=lambda ctx: [ClockStart(label="first review child protection "
                                                         "conference (3 months)")]),
    summary=lambda ctx: "Child protection plan made: first review within 3 months",
))


def _plan_continues(ctx: RuleContext) -> bool:
    return (ctx.is_child and ctx.data.get("plan_continues") is not False
            and not _running(("rcpc-3m", "rcpc-6m"), ctx))


register(Rule(
    id="rcpc-6m",
    title="Further review child protection conferences at most 6 months apart",
    triggers=("cp_review.held",),
    condition=_plan_continues,
    routes=("cp_chairs",),
    severity="amber",
    provenance=("Working Together",),
    provenance_text=(
        "Working Together to Safeguard Children: further review conferences are held at "
        "intervals of not more than six months while the child protection plan continues."
    ),
    clock=ClockSpec(amount=6, unit=ClockUnit.MONTHS, met_by=("cp_review.held",),
                    stopped_by=("cp_plan.ended",), alert_on_breach=True,
                    starts=lambda ctx: [ClockStart(label="review child protection conference "
                                                         "(6 months)")]),
    summary=lambda ctx: "Child protection plan continues: next review within 6 months",
))
