"""A batch of events leaves exactly the world that submitting them one by one leaves.

``events_submit_batch`` reads the index once per batch and holds many writes until its end
(identity's ``BatchIndex``, ``people.records``, live child flags, relationships). These tests
push the same events both ways, each into its own fresh database, and compare everything the
events write: people, names, addresses, identifiers, match profiles and blocking keys, link
decisions, review items, chronology, related people, relationships, flags, alerts, clocks,
access relationships and the audit trail. The events are the two long stories reconstructed
from the reviews (spelling variants, bail, missing episodes, care, exploitation) and the
benchmark's synthetic stream (many people, repeat subjects, related adults).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

from reachable.access.models import AccessGrant
from reachable.audit.models import AuditRecord
from reachable.audit.verify import verify_chain
from reachable.bench.intake import bench_organisation
from reachable.bench.synthetic import EventStream
from reachable.childstate.models import ChildFlag
from reachable.chronology.models import Event, EventRelatedPerson
from reachable.core import clock
from reachable.core.scratch_db import scratch_database
from reachable.identity.models import BlockingKey, LinkDecision, MatchProfile
from reachable.intake.services import (
    SubmissionError,
    event_submit,
    events_submit_batch,
    events_submit_feed,
)
from reachable.mpi.models import ReviewItem
from reachable.organisations.models import User
from reachable.people.models import Address, Identifier, Person, PersonName, Relationship
from reachable.rules.models import Alert, Clock
from reachable.scenarios.loader import load_scenario
from reachable.scenarios.runner import _area, organisation_build

STORIES = Path(__file__).resolve().parents[2] / "scenarios" / "stories"
Submitter = Callable[[User, list[dict[str, Any]]], None]
# Flags keyed by another person's id (``childstate.state``).
PERSON_KEYED_FLAGS = ("linked_adult_of_concern", "bail_protected_from", "bailed_no_contact")


def _one_by_one(actor: User, payloads: list[dict[str, Any]]) -> None:
    for payload in payloads:
        event_submit(actor=actor, payload=payload)


def _batched(actor: User, payloads: list[dict[str, Any]]) -> None:
    outcomes = events_submit_batch(actor=actor, payloads=payloads)
    refused = [o for o in outcomes if isinstance(o, SubmissionError)]
    assert not refused, refused


def _strip_ids(value: Any, person: Callable[[Any], Any]) -> Any:
    """Results and audit details name row ids; ids of rows inserted at a batch's end (profiles)
    differ from one-by-one, so compare what they say, not which row they point at. People are
    named by ``person`` (their place in the order they were created), for the same reason."""
    if isinstance(value, dict):
        return {k: _strip_ids(v, person) for k, v in value.items() if k not in ("id", "event")}
    if isinstance(value, list):
        return [_strip_ids(v, person) for v in value]
    if isinstance(value, str):  # "+open_mash_contact:<event id>" (the flags compare the event)
        value = re.sub(r"^([+-]open_mash_contact):\d+$", r"\1:<event>", value)
        value = re.sub(rf"^([+-](?:{'|'.join(PERSON_KEYED_FLAGS)})):(\d+)$",
                       lambda m: f"{m.group(1)}:person {person(int(m.group(2)))}", value)
        return re.sub(r"P-(\d+)", lambda m: f"person {person(int(m.group(1)))}", value)
    return value


def _world() -> dict[str, Any]:
    """Everything intake writes, in a form that does not depend on insert order."""
    record = dict(Event.objects.values_list("pk", "source_record"))
    # A batch reserves people's ids in blocks (``core.held``), so the same people can have
    # other ids than one by one, with gaps: name each by its place in the order of creation.
    order = {pk: n for n, pk in enumerate(Person.objects.order_by("pk")
                                              .values_list("pk", flat=True), start=1)}

    def person(pk: Any) -> Any:
        return None if pk is None else order.get(pk, f"missing {pk}")

    def rows(model: Any, *fields: str, **renames: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
        out = []
        for values in model.objects.values_list(*fields):
            out.append(tuple(renames.get(f, lambda v: v)(v) for f, v in zip(fields, values,
                                                                            strict=True)))
        return sorted(out, key=repr)

    by_event: dict[str, Callable[[Any], Any]] = {
        "set_by_id": record.get, "cleared_by_id": record.get, "event_id": record.get,
        "person_id": person}
    people: dict[str, Callable[[Any], Any]] = {
        name: person for name in ("pk", "merged_into_id", "person_id", "candidate_id",
                                  "incoming_id", "related_id", "profile__person_id")}
    return {
        "people": rows(Person, "pk", "given_name", "family_name", "name_key", "date_of_birth",
                       "sex", "died_on", "merged_into_id", **people),
        "names": rows(PersonName, "person_id", "name_key", "given_name", "family_name",
                      "source_agency", **people),
        "addresses": rows(Address, "person_id", "postcode", "line", "recorded_at",
                          "source_agency", **people),
        "latest_address": sorted(
            (person(p.pk), (a.postcode, a.line) if (a := p.addresses.first()) else None)
            for p in Person.objects.all()),
        "identifiers": rows(Identifier, "person_id", "kind", "issuer", "value", **people),
        "profiles": rows(MatchProfile, "person_id", "signature", "forename", "surname", "dob",
                         "postcode", "address", **people),
        "keys": rows(BlockingKey, "profile__person_id", "profile__signature", "key", **people),
        "decisions": rows(LinkDecision, "person_id", "candidate_id", "source", "agency_code",
                          "decision", "matched_on", "match_weight", "model_version", **people),
        "reviews": rows(ReviewItem, "incoming_id", "candidate_id", "status", "match_weight",
                        "source", **people),
        "events": [(r, p, t, _strip_ids(res, person)) for r, p, t, res in rows(
            Event, "source_record", "person_id", "type", "result", **people)],
        "related": rows(EventRelatedPerson, "event_id", "person_id", "role", **by_event),
        "relationships": rows(Relationship, "person_id", "related_id", "kind", **people),
        # An open MASH contact is keyed by its event's id; events inserted at a batch's end
        # may have other ids than one by one (``core.held``), so name the event by its record.
        # A flag about another person (a linked adult, a bail) is keyed by, and names, them.
        "flags": sorted(((p, f, record.get(int(k)) if f == "open_mash_contact" else
                          person(int(k)) if f in PERSON_KEYED_FLAGS else k,
                          {n: person(x) if n in ("person", "adult", "child") else x
                           for n, x in v.items()}, *rest)
                         for p, f, k, v, *rest in rows(ChildFlag, "person_id", "flag", "key",
                                                       "value", "set_by_id", "set_at",
                                                       "cleared_by_id", "cleared_at",
                                                       **by_event)),
                        key=repr),
        "alerts": rows(Alert, "rule_id", "person_id", "event_id", "team_id", "route", "kind",
                       "key", "status", "assignee_id", **by_event),
        "clocks": rows(Clock, "rule_id", "person_id", "event_id", "key", "status", "deadline",
                       "met_at", **by_event),
        "grants": rows(AccessGrant, "person_id", "user_id", "team_id", "agency_id", "reason",
                       "ended_at", **people),
        "audit": [(r.action, r.actor_label, person(r.person_id), _strip_ids(r.detail, person))
                  for r in
                  AuditRecord.objects.filter(action="event.accepted").order_by("id")],
        "chain_intact": verify_chain().intact,
    }


def _replayed(story: str, submit: Submitter) -> dict[str, Any]:
    """The story's agency events (not its practitioner actions), in order, submitted in runs
    of one agency at a time, at the story's end."""
    scenario = load_scenario(STORIES / story)
    with scratch_database(), _area(scenario):
        with clock.frozen_at(scenario.start):
            org = organisation_build(scenario)
        payloads = [s.payload for s in scenario.steps
                    if not s.is_action and s.payload is not None]
        with clock.frozen_at(scenario.end):
            for agency, run in groupby(payloads, key=lambda p: p["source"]["agency"]):
                submit(org.systems[agency], list(run))
            return _world()


def _streamed(events: int, submit: Submitter, now: datetime) -> dict[str, Any]:
    """The benchmark's stream grouped by agency within chunks of 100, as a file import from
    each agency would bring them."""
    stream = EventStream(seed=11, today=now.date(), end=now - timedelta(minutes=1),
                         spacing=timedelta(seconds=1))
    with scratch_database(), clock.frozen_at(now):
        systems = bench_organisation()
        payloads = list(stream.stream(events))
        for start in range(0, events, 100):
            chunk = payloads[start:start + 100]
            for agency in dict.fromkeys(p["source"]["agency"] for p in chunk):
                submit(systems[agency], [p for p in chunk if p["source"]["agency"] == agency])
        return _world()


def _fed(events: int, now: datetime, *, one_by_one: bool) -> dict[str, Any]:
    """The benchmark's stream in its own order, each event as its agency's system: through
    ``events_submit_feed`` in chunks of 100 (as the benchmark submits it), or one by one."""
    stream = EventStream(seed=11, today=now.date(), end=now - timedelta(minutes=1),
                         spacing=timedelta(seconds=1))
    with scratch_database(), clock.frozen_at(now):
        systems = bench_organisation()
        submissions = [(systems[p["source"]["agency"]], p) for p in stream.stream(events)]
        if one_by_one:
            for actor, payload in submissions:
                event_submit(actor=actor, payload=payload)
        else:
            for start in range(0, events, 100):
                outcomes = events_submit_feed(submissions=submissions[start:start + 100])
                refused = [o for o in outcomes if isinstance(o, SubmissionError)]
                assert not refused, refused
        return _world()


@pytest.fixture
def unblocked(django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        yield


def _assert_same(batched: dict[str, Any], single: dict[str, Any]) -> None:
    assert batched["chain_intact"] and single["chain_intact"]
    for part in single:
        assert batched[part] == single[part], part


@pytest.mark.parametrize("story", ["child-c.yaml", "sarah.yaml"])
def test_a_story_batched_leaves_the_world_one_by_one_leaves(unblocked: None,
                                                           story: str) -> None:
    single = _replayed(story, _one_by_one)
    batched = _replayed(story, _batched)
    assert len(single["events"]) > 30 and single["flags"] and single["alerts"]
    _assert_same(batched, single)


def test_the_benchmark_stream_batched_leaves_the_world_one_by_one_leaves(
    unblocked: None,
) -> None:
    now = clock.now()
    single = _streamed(600, _one_by_one, now)
    batched = _streamed(600, _batched, now)
    assert len(single["people"]) > 150 and single["relationships"]
    assert any(d[5] == "new" for d in single["decisions"])
    assert any(d[4] in ("auto_link", "deterministic") for d in single["decisions"])
    _assert_same(batched, single)


def test_the_benchmark_stream_fed_in_order_leaves_the_world_one_by_one_leaves(
    unblocked: None,
) -> None:
    """Several agencies' events in one batch, each checked and recorded as its own actor."""
    now = clock.now()
    single = _fed(600, now, one_by_one=True)
    fed = _fed(600, now, one_by_one=False)
    assert len({actor for _, actor, *_ in single["audit"]}) > 3  # many agencies' systems
    _assert_same(fed, single)
