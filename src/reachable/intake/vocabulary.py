"""The event vocabulary (``events.md``): every type and the fields of its ``data`` payload.

Each payload is declared once here as a list of fields; ``schemas.py`` turns the declarations
into validating serializers that are also the OpenAPI components, so the published schema and
the validation can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldKind = Literal["text", "longtext", "choice", "bool", "date", "datetime", "int", "list",
                    "actions", "postcode"]


@dataclass(frozen=True)
class F:
    name: str
    kind: FieldKind = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""
    sensitive: bool = False


@dataclass(frozen=True)
class EventType:
    name: str
    summary: str
    fields: tuple[F, ...] = ()
    # Names the related-people roles that this type expects (documentation and validation).
    related_roles: tuple[str, ...] = field(default=())
    requires_related: bool = False


AGENCY_KINDS = ("police", "health", "csc", "education", "housing", "youth_justice", "gp")
LEGAL_STATUSES = ("s20", "s31", "s38", "epo", "police_protection", "remand", "placement_order")
DISPUTE_STAGES = ("informal", "formal_1", "formal_2", "formal_3", "formal_4", "formal_5")
CIVIL_ORDERS = ("sexual_risk_order", "cawn", "wardship", "injunction")
RELATIONSHIP_KINDS = ("mother", "father", "parent", "carer", "sibling", "peer", "associate",
                      "adult_of_concern", "exploited_peer", "partner", "other")
RELATED_ROLES = ("related", "co_arrested", "with", "protected_child", "bailed_person",
                 "perpetrator", "respondent", "parent_with_responsibility")

_T: list[EventType] = [
    EventType("person.registered", "An agency holds a record for this person.",
              (F("record_type", help="what the agency's record is, e.g. 'patient', 'pupil'"),)),
    EventType("person.address_changed", "New address or postcode.",
              (F("postcode", "postcode", required=True), F("line"))),
    EventType("person.located", "Found at a place or with other people (see `related`).",
              (F("place"), F("postcode", "postcode"), F("circumstances", "longtext")),
              related_roles=("with",)),
    EventType("person.died", "Death of a person.",
              (F("date_of_death", "date", required=True), F("circumstances", "longtext"))),
    EventType("relationship.recorded", "A relationship between the subject and a related person.",
              (F("kind", "choice", required=True, choices=RELATIONSHIP_KINDS),),
              related_roles=("related",), requires_related=True),
    EventType("contact.received", "A concern reaches the front door.",
              (F("narrative", "longtext", required=True), F("referrer_agency"),
               F("accepted_as_referral", "bool"), F("about_context"),
               F("informant_name", sensitive=True, help="sealed: informant identity"))),
    EventType("mash.screened", "MASH RAG rating with rationale.",
              (F("rating", "choice", required=True, choices=("red", "amber", "green")),
               F("rationale", "longtext"))),
    EventType("mash.information_requested", "The MASH asks an agency for information.",
              (F("request_id", required=True), F("to_agency", required=True),
               F("question", "longtext"), F("due_at", "datetime"))),
    EventType("mash.information_provided", "An agency answers a MASH request.",
              (F("request_id", required=True), F("information", "longtext"))),
    EventType("mash.decided", "MASH outcome.",
              (F("outcome", "choice", required=True,
                 choices=("no_further_action", "early_help", "assessment", "strategy_discussion",
                          "urgent_exploitation_response")),
               F("rationale", "longtext"))),
    EventType("assessment.started", "Child and family assessment started.",
              (F("referral_date", "date"),)),
    EventType("assessment.completed", "Child and family assessment completed.",
              (F("outcome"),)),
    EventType("custody.booked", "Child booked into police custody.",
              (F("force", required=True, help="police force code, e.g. 'met'"),
               F("station"), F("offence"))),
    EventType("arrest.recorded", "Arrest, with any co-arrested people in `related`.",
              (F("force", required=True), F("location"), F("offence")),
              related_roles=("co_arrested",)),
    EventType("county_lines.reported", "Police intelligence of county-lines involvement.",
              (F("line_name"), F("narrative", "longtext"))),
    EventType("bail.condition_set",
              "Bail conditions on the subject, e.g. no contact with the child in `related`.",
              (F("conditions", "longtext", required=True), F("no_contact", "bool"),
               F("reference")),
              related_roles=("protected_child",)),
    EventType("bail.condition_ended", "Bail conditions ended.", (F("reference"),)),
    EventType("ed.attended", "Emergency department attendance.",
              (F("reason", "choice", required=True,
                 choices=("assault", "weapon_injury", "overdose", "self_harm", "seizure",
                          "injury", "illness", "sexual_assault", "other")),
               F("hospital"), F("notes", "longtext")),
              related_roles=("with",)),
    EventType("health_condition.recorded", "Chronic condition and medication.",
              (F("condition", required=True), F("medication"),
               F("affects_decision_making", "bool"))),
    EventType("prescription.not_collected", "A prescription was not collected by the due date.",
              (F("medication", required=True), F("due_date", "date"), F("pharmacy"))),
    EventType("health_assessment.completed", "Health assessment or dental check.",
              (F("kind", "choice", required=True, choices=("initial", "review", "dental")),)),
    EventType("school.ehe_registered", "Withdrawn to elective home education.",
              (F("school"), F("reason", "longtext"))),
    EventType("school.ehe_visited",
              "Home visit or assessment of a child in elective home education (EHE officer).",
              (F("seen", "bool", required=True, help="whether the child was seen"),
               F("outcome", "longtext"))),
    EventType("school.application_received", "In-year school place application.",
              (F("application_id", required=True), F("school"))),
    EventType("school.place_offered", "School place offered.",
              (F("application_id", required=True), F("school"))),
    EventType("school.excluded", "Exclusion.",
              (F("kind", "choice", required=True, choices=("suspension", "permanent")),
               F("days", "int"))),
    EventType("school.missing_education", "Child missing education.", (F("notes", "longtext"),)),
    EventType("housing.application_received", "Housing application by the child's household.",
              (F("application_id", required=True), F("household", "longtext"))),
    EventType("missing.reported", "Missing or absent episode starts.",
              (F("episode_id", required=True),
               F("kind", "choice", choices=("missing", "absent")))),
    EventType("missing.returned", "Missing episode ends.", (F("episode_id", required=True),)),
    EventType("rhi.offered", "Return home interview offered.", (F("episode_id", required=True),)),
    EventType("rhi.completed", "Return home interview held or refused.",
              (F("episode_id", required=True), F("refused", "bool"),
               F("reasons", "longtext", help="why the child went missing"))),
    EventType("strategy_discussion.held", "Strategy discussion: attendees by agency, outcome.",
              (F("attendees", "list", required=True, choices=AGENCY_KINDS),
               F("invited", "list", choices=AGENCY_KINDS),
               F("outcome", "choice", required=True, choices=("s47", "no_s47", "further_info")))),
    EventType("s47.started", "Child protection enquiry started."),
    EventType("s47.completed", "Child protection enquiry completed.",
              (F("outcome", "choice", choices=("icpc", "no_further_action", "cin")),)),
    EventType("icpc.held", "Initial child protection conference.", (F("plan", "bool"),)),
    EventType("cp_plan.started", "Child protection plan started.",
              (F("category", "choice", choices=("neglect", "physical", "emotional", "sexual",
                                                "multiple")),)),
    EventType("cp_review.held", "Review child protection conference.",
              (F("plan_continues", "bool"),)),
    EventType("cp_plan.ended", "Child protection plan ended.", (F("reason"),)),
    EventType("exploitation_screening.completed", "Exploitation risk screening.",
              (F("level", "choice", required=True,
                 choices=("none", "emerging", "moderate", "significant")),
               F("kind", "choice", choices=("criminal", "sexual", "both")),
               F("indicators", "list"))),
    EventType("mace.discussed", "MACE / Exploitation and Risk Panel discussion.",
              (F("meeting_id", required=True), F("attendees", "list", choices=AGENCY_KINDS),
               F("actions", "actions"), F("significant_harm", "bool"))),
    EventType("mace.action_completed", "A MACE action was done (closes its due-date clock).",
              (F("meeting_id", required=True), F("action", required=True,
                                                 help="the action's description, as recorded"),
               F("notes", "longtext"))),
    EventType("nrm.referred", "National Referral Mechanism referral.",
              (F("kind", "choice", choices=("criminal", "sexual", "labour", "other")),)),
    EventType("nrm.decided", "NRM grounds decision.",
              (F("grounds", "choice", required=True, choices=("reasonable", "conclusive")),
               F("outcome", "choice", required=True, choices=("positive", "negative")))),
    EventType("civil_order.applied", "Civil order applied for.",
              (F("order", "choice", required=True,
                 choices=CIVIL_ORDERS),),
              related_roles=("respondent",)),
    EventType("civil_order.granted", "Civil order granted.",
              (F("order", "choice", required=True,
                 choices=CIVIL_ORDERS),
               F("expires_on", "date")),
              related_roles=("respondent",)),
    EventType("cla.started", "Looked-after episode starts.",
              (F("legal_status", "choice", required=True, choices=LEGAL_STATUSES),)),
    EventType("cla.legal_status_changed", "Looked-after legal status changed.",
              (F("legal_status", "choice", required=True, choices=LEGAL_STATUSES),)),
    EventType("cla.ended", "Looked-after episode ends.", (F("reason"),)),
    EventType("placement.started", "Placement starts.",
              (F("placement_type", required=True), F("provider"), F("carers"),
               F("health_information_shared", "bool"))),
    EventType("placement.ended", "Placement ends.", (F("reason"),)),
    EventType("cla_review.held", "Looked-after review.",
              (F("attendees", "list", choices=AGENCY_KINDS), F("iro_quality_check"),
               F("child_participated", "bool"))),
    EventType("cla_visit.recorded", "Statutory visit.",
              (F("seen", "bool", required=True), F("seen_alone", "bool"))),
    EventType("iro.dispute_raised", "IRO dispute resolution raised.",
              (F("stage", "choice", required=True,
                 choices=DISPUTE_STAGES),
               F("issue", "longtext"),
               F("dispute_id", help="ties the stages of one dispute together (optional)"))),
    EventType("iro.dispute_resolved", "IRO dispute resolved.",
              (F("stage", "choice", required=True,
                 choices=DISPUTE_STAGES),
               F("dispute_id", help="the dispute's id, when it was raised with one"))),
    EventType("mca.assessed", "Mental capacity assessment for a decision.",
              (F("decision", required=True), F("has_capacity", "bool", required=True))),
    EventType("youth_justice.order_started", "Youth justice order or intervention.",
              (F("order", required=True),)),
]

EVENT_TYPES: dict[str, EventType] = {t.name: t for t in _T}
SENSITIVE_FIELDS: frozenset[str] = frozenset(
    f.name for t in _T for f in t.fields if f.sensitive
)
