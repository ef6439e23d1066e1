"""Rules: looked-after children and health (``rules.md``, "Looked-after children and health").

The statutory clocks follow the Care Planning, Placement and Case Review (England) Regulations
2010 and the statutory guidance on promoting the health of looked-after children. Every clock
about a looked-after episode stops when the episode ends (``cla.ended``) or the child dies
(``person.died``). Decisions taken here, and why:

Reviews (``cla-review-20wd`` / ``-3m`` / ``-6m``, reg 33)
    ``cla.started`` starts the first-review clock (20 working days). The first
    ``cla_review.held`` of the episode (counted from the latest ``cla.started``) meets it and
    starts the second-review clock (3 months); every later review meets the running clock and
    starts the next (6 months). A late review still starts the next clock from the day it was
    held, as reg 33 does. The alert to the IRO service is raised when a clock breaches (these are
    routine, recurring clocks: an alert at every review would bury the queue); the IRO team
    manager is warned at 75 %.

``cla-care-plan-10wd`` (reg 4)
    The first ``placement.started`` of an episode alerts the allocated worker: the care plan is
    due within 10 working days. The vocabulary has no care-plan event, so the worker meets the
    clock by acknowledging the alert with the plan's date.

``cla-visit`` (reg 28)
    ``placement.started`` starts a 1-week clock; each ``cla_visit.recorded`` with the child seen
    meets it and starts the next: 6 weeks during the first year of the placement, then 3 months
    if the placement is long-term (its ``placement_type`` says "long"), otherwise still 6 weeks
    (reg 28(2)(c)). A visit where the child was not seen neither meets nor restarts the clock. A
    new placement supersedes the running clock (stopped) and starts its own first week. Alert on
    breach, to the allocated worker.

``iha-20wd``
    ``cla.started`` alerts the LAC nurse (health) at once, since arranging the initial health
    assessment is their work, with a 20 working day clock met by ``health_assessment.completed``
    of kind ``initial``.

``health-assessment-overdue``
    Each initial or review health assessment of a looked-after child starts the next review
    clock: 6 months if the child was under 5 at the assessment, 12 months from 5. Dental checks
    do not count. Alert on breach, to the LAC nurse and the IRO.

``placement-health-info``
    A placement starting for a child with a recorded chronic condition, without
    ``health_information_shared: true``, alerts the allocated worker and the placement team, with
    1 working day to share it. Met by the allocated worker acknowledging with what was shared and
    with whom, or by the placement's record re-sent (``placement.started``) with
    ``health_information_shared: true``; a different placement starting without it stops the
    clock (the new placement raises its own alert).

``prescription-not-collected``
    Fires for a looked-after child (the local authority is the corporate parent, and an
    uncollected prescription is itself a health need), or for any other known child with a
    recorded chronic condition. Alerts GP liaison (lead) and the allocated worker; 1 working day,
    met by GP liaison acknowledging with the contact made. Red: for a condition such as epilepsy
    missed medication is life-threatening (Sarah).

``mca-consideration``
    A prompt (decision support, no clock) to the allocated worker when a risky decision is
    recorded for a young person aged 16 or 17 with a condition recorded as affecting
    decision-making and no ``mca.assessed`` on record. "Risky decisions recorded" are: leaving
    care (``cla.ended``), ending a placement (``placement.ended``), moving to semi-independent,
    supported or independent living (``placement.started`` of that type), not collecting
    medication (``prescription.not_collected``), going missing (``missing.reported``), and an
    emergency attendance for overdose or self-harm (``ed.attended``). One open prompt at a time:
    while one is unacknowledged, further risky decisions do not add more.

``cla-death-family-notification``
    ``person.died`` for a looked-after child alerts the service manager with every holder of
    parental responsibility in the summary: people recorded as the child's mother, father, parent
    or carer (``relationship.recorded`` with the child as subject) and anyone named with role
    ``parent_with_responsibility`` on any event about the child. 1 clock hour to the first
    notification, met by the acknowledgement that records it.

``iro-dispute-stage``
    Each ``iro.dispute_raised`` starts a clock for its stage, defaults (working days): informal
    5, formal stage 1 5, stage 2 10, stage 3 10, stage 4 10, stage 5 20 — local configuration
    ``REACHABLE_CLOCK_LIMITS["iro-dispute-stage"] = {"informal": 3, ..., "unit": ...}``. Met by
    ``iro.dispute_resolved`` or by the dispute being raised at another stage (the escalation),
    matched on the optional ``dispute_id``. On breach the IRO manager is alerted to escalate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from reachable.childstate.models import Flag
from reachable.chronology.models import Event, EventRelatedPerson
from reachable.people.models import Person, Relationship
from reachable.rules.calendar import ClockUnit, add_months
from reachable.rules.catalogue.conditions import has_chronic_condition, known_child, looked_after
from reachable.rules.catalogue.front_door import DescribedClock
from reachable.rules.models import Alert, AlertKind, AlertStatus
from reachable.rules.registry import (
    ACKNOWLEDGED,
    ClockSpec,
    ClockStart,
    Effect,
    Rule,
    RuleContext,
    describe_limit,
    register,
)

EPISODE_ENDS = ("cla.ended", "person.died")
PARENTAL_KINDS = ("mother", "father", "parent", "carer")


def _latest(ctx: RuleContext, event_type: str) -> Event | None:
    return (Event.objects.filter(person=ctx.person, type=event_type,
                                 occurred_at__lte=ctx.event.occurred_at)
            .order_by("-occurred_at", "-id").first())


def _count_since_episode_start(ctx: RuleContext, event_type: str) -> int:
    """How many ``event_type`` events (this one included) since the latest ``cla.started``."""
    events = Event.objects.filter(person=ctx.person, type=event_type,
                                  occurred_at__lte=ctx.event.occurred_at)
    started = _latest(ctx, "cla.started")
    if started is not None:
        events = events.filter(occurred_at__gte=started.occurred_at)
    return events.count()


# -- Reviews (reg 33) -------------------------------------------------------------------------

REVIEW_PROVENANCE = (
    "Sarah: looked-after reviews must be effective, with milestones not allowed to drift. Care "
    "Planning, Placement and Case Review Regulations 2010 reg 33: the first review within 20 "
    "working days of the child becoming looked after, the second within 3 months of the first, "
    "then at intervals of no more than 6 months."
)


def _review_clock(amount: float, unit: ClockUnit) -> ClockSpec:
    return ClockSpec(amount=amount, unit=unit, met_by=("cla_review.held",),
                     stopped_by=EPISODE_ENDS, alert_on_breach=True)


register(Rule(
    id="cla-review-20wd",
    title="First looked-after review within 20 working days",
    triggers=("cla.started",),
    condition=looked_after,
    routes=("iro",),
    severity="amber",
    provenance=("S-R6", "Care Planning Regulations 2010 reg 33"),
    provenance_text=REVIEW_PROVENANCE,
    clock=_review_clock(20, ClockUnit.WORKING_DAYS),
    summary=lambda ctx: "First looked-after review not held within 20 working days",
))

register(Rule(
    id="cla-review-3m",
    title="Second looked-after review within 3 months of the first",
    triggers=("cla_review.held",),
    condition=lambda ctx: looked_after(ctx)
    and _count_since_episode_start(ctx, "cla_review.held") == 1,
    routes=("iro",),
    severity="amber",
    provenance=("S-R6", "Care Planning Regulations 2010 reg 33"),
    provenance_text=REVIEW_PROVENANCE,
    clock=_review_clock(3, ClockUnit.MONTHS),
    summary=lambda ctx: "Second looked-after review not held within 3 months of the first",
))

register(Rule(
    id="cla-review-6m",
    title="Looked-after reviews at least every 6 months after the second",
    triggers=("cla_review.held",),
    condition=lambda ctx: looked_after(ctx)
    and _count_since_episode_start(ctx, "cla_review.held") >= 2,
    routes=("iro",),
    severity="amber",
    provenance=("S-R6", "Care Planning Regulations 2010 reg 33"),
    provenance_text=REVIEW_PROVENANCE,
    clock=_review_clock(6, ClockUnit.MONTHS),
    summary=lambda ctx: "Looked-after review not held within 6 months of the last",
))

# -- Care plan (reg 4) ------------------------------------------------------------------------

register(Rule(
    id="cla-care-plan-10wd",
    title="Care plan within 10 working days of the first placement",
    triggers=("placement.started",),
    condition=lambda ctx: looked_after(ctx)
    and _count_since_episode_start(ctx, "placement.started") == 1,
    routes=("allocated_worker",),
    severity="amber",
    provenance=("Care Planning Regulations 2010 reg 4",),
    provenance_text=(
        "Care Planning Regulations 2010 reg 4: the care plan is prepared before the child is "
        "first placed or, if that is not practicable, within 10 working days of the start of "
        "the first placement. Acknowledge with the date the plan was completed."
    ),
    clock=ClockSpec(amount=10, unit=ClockUnit.WORKING_DAYS, met_by=(ACKNOWLEDGED,),
                    stopped_by=EPISODE_ENDS),
    summary=lambda ctx: "First placement"
    + (f" ({ctx.data['placement_type']})" if ctx.data.get("placement_type") else "")
    + ": care plan due within 10 working days",
))

# -- Statutory visits (reg 28) ----------------------------------------------------------------


def _seen(event: Event) -> bool:
    return (event.data or {}).get("seen") is True


def _placement_started_at(ctx: RuleContext) -> tuple[datetime, str]:
    rows = ctx.state.current(Flag.PLACEMENT)
    if rows:
        return rows[-1].set_at, str(rows[-1].value.get("placement_type") or "")
    started = _latest(ctx, "cla.started")
    return (started.occurred_at if started is not None else ctx.event.occurred_at), ""


def _visit_starts(ctx: RuleContext) -> list[ClockStart]:
    if ctx.event.type == "placement.started":
        return [ClockStart(amount=1, unit=ClockUnit.WEEKS, label="First visit in placement")]
    since, placement_type = _placement_started_at(ctx)
    if ctx.event.occurred_at < add_months(since, 12) or "long" not in placement_type.lower():
        return [ClockStart(amount=6, unit=ClockUnit.WEEKS, label="Visit within 6 weeks")]
    return [ClockStart(amount=3, unit=ClockUnit.MONTHS,
                       label="Visit within 3 months (long-term placement)")]


register(Rule(
    id="cla-visit",
    title="Statutory visits to a looked-after child in placement",
    triggers=("placement.started", "cla_visit.recorded"),
    condition=lambda ctx: looked_after(ctx)
    and (ctx.event.type == "placement.started" or _seen(ctx.event)),
    routes=("allocated_worker",),
    severity="amber",
    provenance=("Care Planning Regulations 2010 reg 28",),
    provenance_text=(
        "Care Planning Regulations 2010 reg 28: the child is visited (and seen) within a week "
        "of a placement starting, then at intervals of no more than 6 weeks in its first year, "
        "then no more than 3 months where the placement is long-term (6 weeks otherwise)."
    ),
    clock=DescribedClock(amount=6, unit=ClockUnit.WEEKS, met_by=("cla_visit.recorded",),
                         met_if=_seen, stopped_by=(*EPISODE_ENDS, "placement.started"),
                         alert_on_breach=True, starts=_visit_starts,
                         text=lambda spec: "1 week after placement, then 6 weeks in its first "
                         "year, then 3 months if long-term"),
    summary=lambda ctx: "Statutory visit overdue",
))

# -- Health -----------------------------------------------------------------------------------


register(Rule(
    id="iha-20wd",
    title="Initial health assessment within 20 working days of coming into care",
    triggers=("cla.started",),
    condition=looked_after,
    routes=("lac_nurse",),
    severity="amber",
    provenance=("statutory health guidance",),
    provenance_text=(
        "Promoting the health and well-being of looked-after children (statutory guidance): "
        "the initial health assessment is done and the health plan available for the first "
        "review, within 20 working days of the child becoming looked after."
    ),
    clock=ClockSpec(amount=20, unit=ClockUnit.WORKING_DAYS,
                    met_by=("health_assessment.completed",),
                    met_if=lambda e: (e.data or {}).get("kind") == "initial",
                    stopped_by=EPISODE_ENDS),
    summary=lambda ctx: "Came into care"
    + (f" ({ctx.data['legal_status']})" if ctx.data.get("legal_status") else "")
    + ": initial health assessment due within 20 working days",
))


def _health_review_starts(ctx: RuleContext) -> list[ClockStart]:
    age = ctx.person.age_on(ctx.event.occurred_at.date())
    if age is not None and age < 5:
        return [ClockStart(amount=6, unit=ClockUnit.MONTHS, label="Review health assessment "
                                                                  "(under 5: 6 months)")]
    return [ClockStart(amount=12, unit=ClockUnit.MONTHS, label="Review health assessment "
                                                               "(12 months)")]


def _counts_as_health_assessment(event: Event) -> bool:
    return (event.data or {}).get("kind") in ("initial", "review")


register(Rule(
    id="health-assessment-overdue",
    title="Review health assessment: every 6 months under 5, every 12 months from 5",
    triggers=("health_assessment.completed",),
    condition=lambda ctx: looked_after(ctx) and _counts_as_health_assessment(ctx.event),
    routes=("lac_nurse", "iro"),
    severity="amber",
    provenance=("S-R6", "statutory health guidance"),
    provenance_text=(
        "Sarah: looked-after reviews need up-to-date and complete health assessments. Statutory "
        "guidance: a looked-after child's health is reviewed every 6 months before their fifth "
        "birthday and every 12 months after."
    ),
    clock=DescribedClock(amount=12, unit=ClockUnit.MONTHS,
                         met_by=("health_assessment.completed",),
                         met_if=_counts_as_health_assessment, stopped_by=EPISODE_ENDS,
                         alert_on_breach=True, starts=_health_review_starts,
                         text=lambda spec: "6 months under 5, 12 months from 5"),
    summary=lambda ctx: "Review health assessment overdue",
))


def _health_info_shared(event: Event) -> bool:
    return (event.data or {}).get("health_information_shared") is True


def _conditions_text(ctx: RuleContext) -> str:
    parts = []
    for row in ctx.state.chronic_conditions:
        text = str(row.value.get("condition") or row.key)
        if row.value.get("medication"):
            text += f" ({row.value['medication']})"
        parts.append(text)
    return ", ".join(parts)


register(Rule(
    id="placement-health-info",
    title="Placement for a child with a chronic condition: share the health information",
    triggers=("placement.started",),
    condition=lambda ctx: ctx.is_child and has_chronic_condition(ctx)
    and not _health_info_shared(ctx.event),
    routes=("allocated_worker", "placement_team"),
    severity="amber",
    provenance=("S-R9",),
    provenance_text=(
        "Sarah: placements must have the information and knowledge to manage a looked-after "
        "child's chronic condition. A placement starting without the health information shared "
        "with the carers is raised the same day, with one working day to share it."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.WORKING_DAYS,
                    met_by=(ACKNOWLEDGED, "placement.started"), met_if=_health_info_shared,
                    stopped_by=(*EPISODE_ENDS, "placement.started", "placement.ended")),
    summary=lambda ctx: "Placement"
    + (f" with {ctx.data['provider']}" if ctx.data.get("provider") else "")
    + f" started without health information shared: {_conditions_text(ctx)}",
))

register(Rule(
    id="prescription-not-collected",
    title="Prescription not collected: tell the GP and the corporate parent",
    triggers=("prescription.not_collected",),
    condition=lambda ctx: ctx.is_child and (
        ctx.state.looked_after or (known_child(ctx) and has_chronic_condition(ctx))),
    routes=("gp_liaison", "allocated_worker"),
    severity="red",
    provenance=("S-R7",),
    provenance_text=(
        "Sarah: a looked-after young person with epilepsy did not collect prescribed "
        "medication. When a pharmacy reports a prescription not collected, the GP and the "
        "local authority as corporate parent are told within a working day."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.WORKING_DAYS, met_by=(ACKNOWLEDGED,),
                    stopped_by=("person.died",)),
    summary=lambda ctx: f"{ctx.data.get('medication', 'Medication')} not collected"
    + (f" from {ctx.data['pharmacy']}" if ctx.data.get("pharmacy") else "")
    + (f"; known conditions: {_conditions_text(ctx)}" if ctx.state.chronic_conditions else ""),
))

# -- Mental capacity --------------------------------------------------------------------------

LESS_SUPERVISED_PLACEMENTS = ("semi", "independent", "supported")
RISKY_ED_REASONS = ("overdose", "self_harm")


def risky_decision(event: Event) -> str:
    """What risky decision this event records, in plain words; "" if none."""
    data = event.data or {}
    if event.type == "cla.ended":
        return "leaving care"
    if event.type == "placement.ended":
        return "ending a placement"
    if event.type == "placement.started":
        kind = str(data.get("placement_type") or "").lower()
        return f"moving to {kind.replace('_', ' ')}" if any(
            word in kind for word in LESS_SUPERVISED_PLACEMENTS) else ""
    if event.type == "prescription.not_collected":
        return "not collecting medication"
    if event.type == "missing.reported":
        return "going missing"
    if event.type == "ed.attended" and data.get("reason") in RISKY_ED_REASONS:
        return str(data["reason"]).replace("_", " ")
    return ""


def _decision_making_condition(ctx: RuleContext) -> str:
    for row in ctx.state.chronic_conditions:
        if row.value.get("affects_decision_making"):
            return str(row.value.get("condition") or row.key)
    return ""


def _mca_needed(ctx: RuleContext) -> bool:
    age = ctx.person.age_on(ctx.event.occurred_at.date())
    if age not in (16, 17) or not risky_decision(ctx.event):
        return False
    if not _decision_making_condition(ctx):
        return False
    if Event.objects.filter(person=ctx.person, type="mca.assessed",
                            occurred_at__lte=ctx.event.occurred_at).exists():
        return False
    return not Alert.objects.filter(rule_id="mca-consideration", person=ctx.person,
                                    kind=AlertKind.PROMPT, status=AlertStatus.OPEN).exists()


register(Rule(
    id="mca-consideration",
    title="Consider the Mental Capacity Act for a young person aged 16 or 17's risky decision",
    triggers=("cla.ended", "placement.ended", "placement.started",
              "prescription.not_collected", "missing.reported", "ed.attended"),
    condition=_mca_needed,
    routes=("allocated_worker",),
    severity="info",
    provenance=("S-R8",),
    provenance_text=(
        "Sarah: agencies must understand the Mental Capacity Act when young people make "
        "decisions. For a young person aged 16 or 17 whose condition affects decision-making, "
        "a risky decision with no capacity assessment on record prompts the worker to consider "
        "one."
    ),
    effects=(Effect.PROMPT,),
    summary=lambda ctx: f"Consider a mental capacity assessment: {risky_decision(ctx.event)}, "
    f"with {_decision_making_condition(ctx)} recorded as affecting decision-making",
))

# -- Death of a looked-after child -------------------------------------------------------------


def parental_responsibility(child: Person) -> list[tuple[Person, str]]:
    """Everyone recorded as holding parental responsibility for ``child``, with how."""
    holders: dict[int, tuple[Person, str]] = {}
    for row in (Relationship.objects.filter(person=child, kind__in=PARENTAL_KINDS)
                .select_related("related").order_by("id")):
        holders.setdefault(row.related.pk, (row.related, row.kind))
    for erp in (EventRelatedPerson.objects.filter(event__person=child,
                                                  role="parent_with_responsibility")
                .select_related("person").order_by("id")):
        holders.setdefault(erp.person.pk, (erp.person, "parental responsibility"))
    return list(holders.values())


def _death_summary(ctx: RuleContext) -> str:
    holders = parental_responsibility(ctx.person)
    status = ctx.state.legal_status
    head = "Looked-after child died" + (f" ({status})" if status and status != "None" else "")
    if not holders:
        return head + ". No holder of parental responsibility is recorded: find and tell them."
    names = "; ".join(f"{p.full_name} {p.ref} ({kind})" for p, kind in holders)
    return f"{head}. Tell every holder of parental responsibility: {names}"


register(Rule(
    id="cla-death-family-notification",
    title="Death of a looked-after child: tell everyone with parental responsibility",
    triggers=("person.died",),
    condition=looked_after,
    routes=("service_manager",),
    severity="red",
    provenance=("S-R10",),
    provenance_text=(
        "Sarah: when a looked-after child dies, families must be told properly, and parents "
        "keep parental responsibility (under s20 both parents had it). The service manager is "
        "given everyone with parental responsibility; the first notification within the hour."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.CLOCK_HOURS, met_by=(ACKNOWLEDGED,)),
    summary=_death_summary,
))

# -- IRO dispute resolution ---------------------------------------------------------------------

DISPUTE_STAGE_LIMITS = {"informal": 5.0, "formal_1": 5.0, "formal_2": 10.0, "formal_3": 10.0,
                        "formal_4": 10.0, "formal_5": 20.0}
NEXT_STAGE = {"informal": "formal stage 1", "formal_1": "formal stage 2",
              "formal_2": "formal stage 3", "formal_3": "formal stage 4",
              "formal_4": "formal stage 5", "formal_5": "Cafcass"}


def _dispute_local() -> dict[str, Any]:
    return dict(getattr(settings, "REACHABLE_CLOCK_LIMITS", {}).get("iro-dispute-stage") or {})


def dispute_limit(stage: str) -> float:
    return float(_dispute_local().get(stage, DISPUTE_STAGE_LIMITS.get(stage, 5.0)))


def _dispute_unit() -> ClockUnit:
    return ClockUnit(_dispute_local().get("unit", ClockUnit.WORKING_DAYS))


def _stage_name(stage: str) -> str:
    return "informal stage" if stage == "informal" else stage.replace("formal_", "formal stage ")


def _dispute_starts(ctx: RuleContext) -> list[ClockStart]:
    stage = str(ctx.data.get("stage"))
    return [ClockStart(amount=dispute_limit(stage), unit=_dispute_unit(),
                       label=f"Dispute at {_stage_name(stage)}: resolve or escalate to "
                       f"{NEXT_STAGE.get(stage, 'the next stage')}")]


register(Rule(
    id="iro-dispute-stage",
    title="IRO dispute resolved within its stage's time, or escalated",
    triggers=("iro.dispute_raised",),
    condition=lambda ctx: ctx.is_child and ctx.data.get("stage") in DISPUTE_STAGE_LIMITS,
    routes=("iro_manager",),
    severity="amber",
    provenance=("S-R6", "Care Planning Regulations 2010 (dispute resolution)"),
    provenance_text=(
        "Sarah: IROs' dispute resolution keeps a looked-after child's plan from drifting. Each "
        "stage of a dispute has a local time limit; unresolved at the limit, the IRO manager "
        "escalates it to the next stage."
    ),
    clock=DescribedClock(amount=5, unit=ClockUnit.WORKING_DAYS,
                         met_by=("iro.dispute_resolved", "iro.dispute_raised"),
                         match="dispute_id", stopped_by=EPISODE_ENDS, alert_on_breach=True,
                         starts=_dispute_starts,
                         text=lambda spec: ", ".join(
                             f"{_stage_name(s)} {describe_limit(dispute_limit(s), _dispute_unit())}"
                             for s in DISPUTE_STAGE_LIMITS)),
    summary=lambda ctx: f"Dispute at {_stage_name(str(ctx.data.get('stage')))} not resolved in "
    "time: escalate",
))
