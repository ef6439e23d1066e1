"""``reachable rules``: the catalogue with its provenance, as a table or JSON, local limits
applied; and the registry holds exactly the rules ``rules.md`` names."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.test import override_settings

from reachable.rules.management.commands.rules import effect_text
from reachable.rules.registry import all_rules, get_rule

# The rule ids of /work/shared/brief/rules.md, every table, in its order (a copy: CI clones
# the repository alone, without the brief). Ids are contracts: change this only with the brief.
CATALOGUE_IDS = (
    # Reachable moments and front door
    "golden-hour", "out-of-area-arrest", "ed-violence", "county-lines-drm",
    "urgent-response-48h", "mash-rag", "mash-info-request", "referral-decision-1wd",
    "assessment-45wd",
    # Child protection
    "strategy-quorum", "mace-not-cp-substitute", "icpc-15wd", "rcpc-3m", "rcpc-6m",
    # Exploitation, missing and context
    "rhi-72h", "missing-3in30", "missing-to-mace", "mace-action-overdue", "mace-review-12w",
    "network-adult-of-concern", "bail-contact-breach", "civil-order-consideration",
    "cawn-eligibility", "nrm-consideration",
    # Education and housing
    "ehe-known-child", "school-application-delay", "housing-known-family",
    # Looked-after children and health
    "cla-review-20wd", "cla-review-3m", "cla-review-6m", "cla-care-plan-10wd", "cla-visit",
    "iha-20wd", "health-assessment-overdue", "placement-health-info",
    "prescription-not-collected", "mca-consideration", "cla-death-family-notification",
    "iro-dispute-stage",
)
FIELDS = {"id", "title", "triggers", "effects", "agenda", "clock", "routes", "severity",
          "provenance", "provenance_text"}


def run(*args: str) -> str:
    out = StringIO()
    call_command("rules", *args, stdout=out)
    return out.getvalue()


def listed() -> list[dict[str, Any]]:
    data = json.loads(run("--format", "json"))
    assert isinstance(data, list)
    return data


def by_id() -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in listed()}


def test_the_registry_holds_exactly_the_catalogue() -> None:
    assert len(set(CATALOGUE_IDS)) == len(CATALOGUE_IDS) == 39
    ids = [entry["id"] for entry in listed()]
    missing = [i for i in CATALOGUE_IDS if i not in ids]
    unknown = [i for i in ids if i not in CATALOGUE_IDS]
    assert (missing, unknown) == ([], []), (
        f"rules.md rules not registered: {missing}; registered rules not in rules.md: {unknown}")
    assert len(ids) == len(set(ids))


def test_every_rule_is_listed_with_its_provenance_and_a_route() -> None:
    entries = listed()
    assert [e["id"] for e in entries] == [r.id for r in all_rules()]
    for entry in entries:
        assert set(entry) == FIELDS, entry["id"]
        assert entry["title"] and entry["triggers"] and entry["routes"], entry["id"]
        assert entry["provenance"] and entry["provenance_text"].strip(), entry["id"]
        assert entry["severity"] in ("red", "amber", "green", "info"), entry["id"]
        if entry["clock"] is not None:
            assert set(entry["clock"]) == {"amount", "unit", "met_by", "escalate_fraction",
                                           "text"}
            assert entry["clock"]["amount"] > 0 and entry["clock"]["met_by"], entry["id"]


def test_json_shows_the_front_door_rules_as_rules_md_defines_them() -> None:
    rules = by_id()
    golden = rules["golden-hour"]
    assert golden["triggers"] == ["custody.booked"]
    assert golden["routes"] == ["mash"]
    assert golden["provenance"] == ["CC-F2"]
    assert golden["clock"] == {"amount": 1.0, "unit": "clock_hours", "met_by": ["ack"],
                               "escalate_fraction": 0.75, "text": "1 clock hour"}
    assert rules["out-of-area-arrest"]["routes"] == ["mash", "allocated_worker"]
    assert rules["county-lines-drm"]["effects"] == ["alert", "agenda"]
    assert rules["county-lines-drm"]["agenda"] == "drm"
    assert rules["county-lines-drm"]["clock"] is None
    assert rules["mash-rag"]["clock"]["text"] == (
        "red 4 working hours, amber 24 working hours, green 72 working hours")
    assert rules["mash-info-request"]["clock"]["met_by"] == ["mash.information_provided"]
    assert rules["assessment-45wd"]["clock"]["unit"] == "working_days"
    assert rules["assessment-45wd"]["clock"]["amount"] == 45


@override_settings(REACHABLE_CLOCK_LIMITS={
    "golden-hour": {"amount": 2, "unit": "clock_hours", "escalate_fraction": 0.5},
    "mash-rag": {"red": 2, "amber": 16},
    "assessment-45wd": {"amount": 40},
})
def test_local_limits_show() -> None:
    rules = by_id()
    assert rules["golden-hour"]["clock"] == {
        "amount": 2.0, "unit": "clock_hours", "met_by": ["ack"], "escalate_fraction": 0.5,
        "text": "2 clock hours"}
    assert rules["mash-rag"]["clock"]["text"] == (
        "red 2 working hours, amber 16 working hours, green 72 working hours")
    assert rules["assessment-45wd"]["clock"]["amount"] == 40
    golden = get_rule("golden-hour")
    assert golden is not None
    assert effect_text(golden) == "alert; clock 2 clock hours, met by acknowledgement"
    assert "40 working days" in run()


@override_settings(REACHABLE_RULES_DISABLED=["ed-violence"])
def test_a_rule_switched_off_is_not_listed() -> None:
    assert "ed-violence" not in by_id()
    assert "ed-violence" not in run()


def test_table_lists_every_rule_with_its_provenance() -> None:
    text = run()
    lines = text.splitlines()
    assert lines[0].split() == ["ID", "TITLE", "TRIGGERS", "EFFECT", "/", "CLOCK", "ROUTES",
                                "SEVERITY", "PROVENANCE"]
    starts = [line.split()[0] for line in lines[2:-1] if line and not line.startswith(" ")]
    assert starts == [r.id for r in all_rules()]
    assert lines[-1] == f"{len(all_rules())} rules"
    golden = next(line for line in lines if line.startswith("golden-hour "))
    assert "custody.booked" in golden and "CC-F2" in golden and "red" in golden
    assert "agenda (drm)" in text
    assert "local MASH standard" in text
