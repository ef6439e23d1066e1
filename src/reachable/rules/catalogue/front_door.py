"""Rules: reachable moments and the front door (``rules.md``, first table)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings

from reachable.chronology.models import Event
from reachable.rules.calendar import LONDON, ClockUnit, add_working_days, working_hours
from reachable.rules.catalogue.conditions import child_at_event, clock_running
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


@dataclass(frozen=True)
class DescribedClock(ClockSpec):
    """A clock whose limit is set per firing (by RAG rating, by a request's due time, from the
    referral date). ``text`` says how, for the catalogue listing (``reachable rules``); it is
    given the effective clock so local limits show."""

    text: Callable[[ClockSpec], str] | None = None

    def describe(self) -> str:
        return self.text(self) if self.text is not None else super().describe()


def _local_limits(rule_id: str) -> dict[str, Any]:
    return dict(getattr(settings, "REACHABLE_CLOCK_LIMITS", {}).get(rule_id) or {})


register(Rule(
    id="golden-hour",
    title="Child in custody: share with the MASH within the golden hour",
    triggers=("custody.booked",),
    condition=child_at_event,
    routes=("mash",),
    severity="red",
    provenance=("CC-F2",),
    provenance_text=(
        "Child C: reachable moments such as arrest and custody passed without a response. "
        "A child booked into custody must reach the MASH within the hour (Operation Harbinger)."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.CLOCK_HOURS, met_by=(ACKNOWLEDGED,)),
    summary=lambda ctx: (
        f"Booked into custody by {ctx.data.get('force', 'police')}"
        + (f" at {ctx.data['station']}" if ctx.data.get("station") else "")
        + (f" for {ctx.data['offence']}" if ctx.data.get("offence") else "")
    ),
))


def force_code(value: object) -> str:
    """A police force code compared loosely: "West Midlands", "west_midlands" and
    "west-midlands" are the same force."""
    return "-".join(re.findall(r"[a-z0-9]+", str(value or "").casefold()))


def _out_of_area(ctx: RuleContext) -> bool:
    force = force_code(ctx.data.get("force"))
    return ctx.is_child and bool(force) and force != force_code(
        settings.REACHABLE_HOME_POLICE_FORCE)


register(Rule(
    id="out-of-area-arrest",
    title="Arrested or in custody with another police force: tell the home MASH and worker",
    triggers=("custody.booked", "arrest.recorded"),
    condition=_out_of_area,
    routes=("mash", "allocated_worker"),
    severity="red",
    provenance=("CC-F4",),
    provenance_text=(
        "Child C: an arrest by another police force (Nottinghamshire) was not shared with the "
        "home agencies. Custody or arrest by a force other than the home force goes to the "
        "home MASH and the allocated worker."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.WORKING_DAYS, met_by=(ACKNOWLEDGED,)),
    summary=lambda ctx: (
        f"{'Custody' if ctx.event.type == 'custody.booked' else 'Arrest'} by "
        f"{ctx.data.get('force', 'another force')}"
        + (f" at {ctx.data.get('station') or ctx.data.get('location')}"
           if ctx.data.get("station") or ctx.data.get("location") else "")
    ),
))

ED_VIOLENCE_REASONS = ("assault", "weapon_injury", "overdose", "self_harm", "sexual_assault")

register(Rule(
    id="ed-violence",
    title="Emergency department attendance for violence, weapons, overdose or self-harm",
    triggers=("ed.attended",),
    condition=lambda ctx: ctx.is_child and ctx.data.get("reason") in ED_VIOLENCE_REASONS,
    routes=("mash",),
    severity="red",
    provenance=("CC-F2",),
    provenance_text=(
        "Child C: hospital attendances were reachable moments that passed. An ED attendance "
        "for violence, a weapon injury, overdose or self-harm reaches the MASH within a "
        "working day."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.WORKING_DAYS,
                    met_by=(ACKNOWLEDGED, "contact.received")),
    summary=lambda ctx: (
        f"Attended {ctx.data.get('hospital') or 'the emergency department'}: "
        f"{str(ctx.data.get('reason', '')).replace('_', ' ')}"
    ),
))

register(Rule(
    id="county-lines-drm",
    title="County-lines intelligence: on the next Daily Risk Management meeting",
    triggers=("county_lines.reported",),
    condition=child_at_event,
    routes=("mash",),
    severity="amber",
    provenance=("CC-F2",),
    provenance_text=(
        "Child C: police intelligence of county-lines involvement must bring the child to the "
        "MASH's next Daily Risk Management meeting."
    ),
    effects=(Effect.ALERT, Effect.AGENDA),
    agenda="drm",
    summary=lambda ctx: "County-lines intelligence"
    + (f" ({ctx.data['line_name']} line)" if ctx.data.get("line_name") else ""),
))


def _urgent_exploitation(ctx: RuleContext) -> bool:
    """Significant risk from a screening, or a MASH decision of urgent response; one clock at a
    time: a MASH decision after the screening that already started the 48 hours does not
    start them again (the response is timed from when the risk was first identified)."""
    if not ctx.is_child:
        return False
    if ctx.event.type == "exploitation_screening.completed":
        urgent = ctx.data.get("level") == "significant"
    else:
        urgent = ctx.data.get("outcome") == "urgent_exploitation_response"
    return urgent and not clock_running(ctx, "urgent-response-48h")


register(Rule(
    id="urgent-response-48h",
    title="Significant exploitation risk: specialist contact within 48 hours",
    triggers=("exploitation_screening.completed", "mash.decided"),
    condition=_urgent_exploitation,
    routes=("exploitation",),
    severity="red",
    provenance=("CC-F2",),
    provenance_text=(
        "Child C: the urgent response service reached 64 children, almost all within 48 "
        "hours. A child identified at significant risk of exploitation gets a first "
        "specialist contact within 48 hours (acknowledge with the contact made)."
    ),
    clock=ClockSpec(amount=48, unit=ClockUnit.CLOCK_HOURS, met_by=(ACKNOWLEDGED,)),
    summary=lambda ctx: "Urgent exploitation response needed"
    + (f" ({ctx.data['kind']} exploitation)" if ctx.data.get("kind") else ""),
))

RAG_LIMITS_WORKING_HOURS = {"red": 4.0, "amber": 24.0, "green": 72.0}


def rag_limit(rating: str) -> float:
    """Working hours allowed for a RAG rating: local configuration
    (``REACHABLE_CLOCK_LIMITS["mash-rag"] = {"red": 2, ...}``) over the default."""
    local = _local_limits("mash-rag")
    return float(local.get(rating, RAG_LIMITS_WORKING_HOURS.get(rating, 24.0)))


def _rag_unit() -> ClockUnit:
    return ClockUnit(_local_limits("mash-rag").get("unit", ClockUnit.WORKING_HOURS))


RAG_CLOCK = DescribedClock(
    amount=24, unit=ClockUnit.WORKING_HOURS, met_by=("mash.decided",),
    starts=lambda ctx: [ClockStart(amount=rag_limit(str(ctx.data.get("rating"))),
                                   label=f"RAG {ctx.data.get('rating')}")],
    text=lambda spec: ", ".join(f"{rating} {describe_limit(rag_limit(rating), _rag_unit())}"
                                for rating in RAG_LIMITS_WORKING_HOURS),
)

register(Rule(
    id="mash-rag",
    title="MASH screening decision within the time for its RAG rating",
    triggers=("mash.screened",),
    condition=lambda ctx: ctx.data.get("rating") in RAG_LIMITS_WORKING_HOURS,
    routes=("mash",),
    severity="amber",
    provenance=("local MASH standard",),
    provenance_text=(
        "Local MASH standard: a screened contact is decided within 4 working hours if red, "
        "24 if amber and 72 if green."
    ),
    clock=RAG_CLOCK,
    summary=lambda ctx: f"Screened {str(ctx.data.get('rating', '')).upper()}: decide within "
    + describe_limit(rag_limit(str(ctx.data.get("rating"))), _rag_unit()),
))


def _latest_rating(ctx: RuleContext) -> str:
    screened = (Event.objects.filter(person=ctx.person, type="mash.screened",
                                     occurred_at__lte=ctx.event.occurred_at)
                .order_by("-occurred_at", "-id").first())
    return str(screened.data.get("rating")) if screened is not None else "amber"


def _info_request_start(ctx: RuleContext) -> list[ClockStart]:
    """Due when the request says; else a local limit for requests if one is configured; else
    the time the contact's RAG rating allows (amber if it has not been screened)."""
    owner = str(ctx.data.get("to_agency") or "")
    label = f"Information from {owner}"
    due = ctx.data.get("due_at")
    if due:
        deadline = datetime.fromisoformat(str(due))
        if deadline > ctx.event.occurred_at:  # a due time already past is a typing error
            return [ClockStart(deadline=deadline, label=label, owner=owner)]
    if "amount" in _local_limits("mash-info-request"):
        return [ClockStart(label=label, owner=owner)]
    return [ClockStart(amount=rag_limit(_latest_rating(ctx)), unit=_rag_unit(), label=label,
                       owner=owner)]


def _info_request_text(spec: ClockSpec) -> str:
    if "amount" in _local_limits("mash-info-request"):
        default = describe_limit(spec.amount, spec.unit)
    else:
        default = f"the contact's RAG limit ({RAG_CLOCK.describe()})"
    return f"the request's due time, else {default}"


register(Rule(
    id="mash-info-request",
    title="MASH information request answered in time",
    triggers=("mash.information_requested",),
    condition=lambda ctx: True,
    routes=("requested_agency",),
    severity="amber",
    provenance=("CC-F7",),
    provenance_text=(
        "Child C: MASH information gathering missed agencies' information. Each request goes "
        "to the agency with a due time (by default the time for the contact's RAG rating) and "
        "is met when that agency answers."
    ),
    clock=DescribedClock(amount=24, unit=ClockUnit.WORKING_HOURS,
                         met_by=("mash.information_provided",), match="request_id",
                         starts=_info_request_start, text=_info_request_text),
    summary=lambda ctx: f"MASH asks {ctx.data.get('to_agency', 'an agency')}: "
    + str(ctx.data.get("question") or "information about this child"),
))

register(Rule(
    id="referral-decision-1wd",
    title="Referral decided within one working day",
    triggers=("contact.received",),
    condition=lambda ctx: bool(ctx.data.get("accepted_as_referral")),
    routes=("mash",),
    severity="amber",
    provenance=("Working Together",),
    provenance_text=(
        "Working Together to Safeguard Children: within one working day of a referral a "
        "social worker decides the type of response needed."
    ),
    clock=ClockSpec(amount=1, unit=ClockUnit.WORKING_DAYS, met_by=("mash.decided",)),
    summary=lambda ctx: "Referral accepted: decide the response within one working day",
))


def _referral_moment(ctx: RuleContext) -> tuple[datetime, str]:
    """When the referral was made: the assessment's ``referral_date`` (the start of that
    working day), else the latest contact accepted as a referral, else the assessment itself."""
    referral = ctx.data.get("referral_date")
    if referral:
        day = date.fromisoformat(str(referral)[:10])
        return (datetime.combine(day, working_hours()[0], LONDON),
                f"from referral on {day:%d %b %Y}")
    contact = (Event.objects.filter(person=ctx.person, type="contact.received",
                                    data__accepted_as_referral=True,
                                    occurred_at__lte=ctx.event.occurred_at)
               .order_by("-occurred_at", "-id").first())
    if contact is not None:
        day = contact.occurred_at.astimezone(LONDON).date()
        return contact.occurred_at, f"from referral on {day:%d %b %Y}"
    return ctx.event.occurred_at, "from the start of the assessment (no referral date given)"


def _assessment_start(ctx: RuleContext) -> list[ClockStart]:
    """45 working days from the referral: the assessment is due by the end of the 45th working
    day after the day of referral (a whole working day, not the time of day it was made)."""
    start, label = _referral_moment(ctx)
    spec = ASSESSMENT.effective_clock()
    assert spec is not None
    if spec.unit in (ClockUnit.WORKING_DAYS, ClockUnit.SCHOOL_DAYS):
        last_day = add_working_days(start, int(spec.amount)).date()
        return [ClockStart(start=start, label=label,
                           deadline=datetime.combine(last_day, working_hours()[1], LONDON))]
    return [ClockStart(start=start, label=label)]


def _assessment_limit() -> str:
    spec = ASSESSMENT.effective_clock()
    assert spec is not None
    return describe_limit(spec.amount, spec.unit)


ASSESSMENT = register(Rule(
    id="assessment-45wd",
    title="Child and family assessment completed within 45 working days of referral",
    triggers=("assessment.started",),
    condition=child_at_event,
    routes=("allocated_worker",),
    severity="amber",
    provenance=("Working Together",),
    provenance_text=(
        "Working Together to Safeguard Children: the maximum timeframe for an assessment is "
        "45 working days from the point of referral."
    ),
    clock=DescribedClock(amount=45, unit=ClockUnit.WORKING_DAYS,
                         met_by=("assessment.completed",), starts=_assessment_start,
                         text=lambda spec: f"{describe_limit(spec.amount, spec.unit)} from "
                         "referral, to the end of the last day"),
    summary=lambda ctx: "Assessment started: complete within "
    f"{_assessment_limit()} of referral",
))
