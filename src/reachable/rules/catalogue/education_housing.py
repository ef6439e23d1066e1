"""Rules: education and housing (``rules.md``, "Education and housing").

Decisions taken here, and why:

``ehe-known-child``
    "Known" is asked of the child as they were *before* the registration: elective home
    education is not itself one of the ``rules.md`` reasons, so the registration cannot make a
    child known (Child C was known for other reasons, and then went out of sight). The alert goes
    to the EHE officer (lead), the allocated worker and the MASH. Its clock (10 working days) is
    met by a home visit or assessment: the EHE officer's ``school.ehe_visited`` with the child
    seen (a visit where the child was not seen is exactly what CC-F1 warns about, so it does not
    count), a child and family assessment started by children's social care, or the EHE officer
    acknowledging the alert with what the visit found. ``school.ehe_visited`` is a small event
    type added to the vocabulary for this rule, so the visit is a fact in the chronology.

``school-application-delay``
    A known child's in-year application starts a clock of 20 school days (held as working days:
    term dates are not held) to ``school.place_offered`` for the same ``application_id``. The
    alert is raised when the clock breaches (learning.md: "alerts when a known child has no
    offer within the local limit"); the admissions team's manager is warned at 75 %.

``housing-known-family``
    The application's subject is usually a parent, so the rule is about the household's
    children: the subject if under 18, the children the subject is recorded as mother, father,
    parent or carer of (``relationship.recorded`` with the child as subject, and the same link
    recorded the other way round), and any child named in the application's ``related`` list.
    Each of them who is a known child gets an alert to housing liaison and the allocated worker.
    No clock: ``rules.md`` names none. The open application stays on the applicant's state
    (``housing_application`` flag), which is what proposes housing for strategy discussions.
"""

from __future__ import annotations

from reachable.chronology.models import Event
from reachable.people.models import Person, Relationship
from reachable.rules.calendar import ClockUnit
from reachable.rules.catalogue.conditions import known_child
from reachable.rules.registry import ACKNOWLEDGED, ClockSpec, Rule, RuleContext, register

PARENTAL_KINDS = ("mother", "father", "parent", "carer")


def _visit_counts(event: Event) -> bool:
    """An EHE visit meets the clock only if the child was seen; other closing events always."""
    return event.type != "school.ehe_visited" or (event.data or {}).get("seen") is True


register(Rule(
    id="ehe-known-child",
    title="Known child withdrawn to elective home education: visit within 10 working days",
    triggers=("school.ehe_registered",),
    condition=known_child,
    routes=("ehe", "allocated_worker", "mash"),
    severity="amber",
    provenance=("CC-F1",),
    provenance_text=(
        "Child C: a child already known to services was withdrawn into elective home education "
        "and dropped out of every agency's sight. When a known child is registered for EHE, "
        "the EHE officer, the allocated worker and the MASH are told, and the child is seen at "
        "home within 10 working days."
    ),
    clock=ClockSpec(amount=10, unit=ClockUnit.WORKING_DAYS,
                    met_by=(ACKNOWLEDGED, "school.ehe_visited", "assessment.started"),
                    met_if=_visit_counts, stopped_by=("person.died",)),
    summary=lambda ctx: "Withdrawn to elective home education"
    + (f" from {ctx.data['school']}" if ctx.data.get("school") else "")
    + "; known because: " + ", ".join(
        sorted({getattr(r, "flag", "") or "missing episode" for r in
                ctx.state.known_child_reasons()})).replace("_", " "),
))

register(Rule(
    id="school-application-delay",
    title="Known child's in-year school application: place offered within 20 school days",
    triggers=("school.application_received",),
    condition=known_child,
    routes=("admissions", "allocated_worker"),
    severity="amber",
    provenance=("CC-F5",),
    provenance_text=(
        "Child C: a school place application was not processed while the child was out of "
        "school. A known child's in-year application must lead to a place offered within 20 "
        "school days; admissions and the allocated worker are alerted when it has not."
    ),
    clock=ClockSpec(amount=20, unit=ClockUnit.SCHOOL_DAYS, met_by=("school.place_offered",),
                    match="application_id", stopped_by=("person.died",),
                    alert_on_breach=True),
    summary=lambda ctx: f"No school place offered for application {ctx.data.get('application_id')}"
    + (f" ({ctx.data['school']})" if ctx.data.get("school") else ""),
))


def household_children(ctx: RuleContext) -> list[Person]:
    """The children of the applicant's household (see the module docstring)."""
    applicant = ctx.event.person
    found: list[Person] = [applicant]
    found += [r.person for r in Relationship.objects.filter(
        related=applicant, kind__in=PARENTAL_KINDS).select_related("person").order_by("id")]
    found += [r.related for r in Relationship.objects.filter(
        person=applicant, kind__in=PARENTAL_KINDS).select_related("related").order_by("id")]
    found += ctx.related_people()
    day = ctx.event.occurred_at.date()
    unique: dict[int, Person] = {}
    for person in found:
        if person.merged_into_id is None and person.is_child_on(day):
            unique.setdefault(person.pk, person)
    return list(unique.values())


def _housing_summary(ctx: RuleContext) -> str:
    applicant = ctx.event.person
    by = "" if applicant == ctx.person else f" by {applicant.full_name} ({applicant.ref})"
    return (f"Housing application {ctx.data.get('application_id')}{by}: household of a known "
            "child; propose housing for strategy discussions while it is open")


register(Rule(
    id="housing-known-family",
    title="Housing application from the household of a known child",
    triggers=("housing.application_received",),
    condition=known_child,
    about=household_children,
    routes=("housing_liaison", "allocated_worker"),
    severity="amber",
    provenance=("CC-F6",),
    provenance_text=(
        "Child C: the family's housing application did not reach safeguarding, and housing was "
        "absent from strategy discussions. A housing application from a household with a known "
        "child alerts housing liaison and the allocated worker, for each known child."
    ),
    summary=_housing_summary,
))
