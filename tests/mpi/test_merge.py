"""Merge and unmerge: generic, audited, exactly reversible."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from reachable.access.models import AccessGrant, BreakGlass
from reachable.access.policies import PersonPolicy
from reachable.audit.models import AuditRecord
from reachable.childstate.models import ChildFlag
from reachable.chronology.models import Event, EventRelatedPerson
from reachable.core import clock
from reachable.core.errors import NotFound, PermissionDenied, ValidationFailed
from reachable.mpi.models import MergedRow, PersonMerge, RowOutcome
from reachable.mpi.repoint import person_links
from reachable.mpi.selectors import current_person_id, pair_known_distinct
from reachable.mpi.services import person_merge, person_unmerge
from reachable.organisations.models import Role
from reachable.people.models import Address, Identifier, Person, PersonName, Relationship
from reachable.records.selectors import people_search
from reachable.rules.models import Alert, Clock
from tests.borough import Borough
from tests.mpi.story import Pair, rows_referring_to, snapshot, two_records_of_one_child
from tests.world import AT


@contextmanager
def refused(text: str) -> Iterator[None]:
    """Expect a ValidationFailed whose messages mention ``text``."""
    with pytest.raises(ValidationFailed) as caught:
        yield
    assert text in str(caught.value.errors), caught.value.errors


REASON = "Same NHS trust record and school record: same child, same mother, same DOB."


@pytest.fixture
def pair(borough: Borough) -> Pair:
    with clock.frozen_at(AT):
        return two_records_of_one_child(borough)


def _merge(borough: Borough, pair: Pair) -> PersonMerge:
    with clock.frozen_at(AT):
        return person_merge(actor=borough.users[Role.MASH_PRACTITIONER], survivor=pair.school,
                            merged=pair.custody, reason=REASON)


def _unmerge(borough: Borough, merge: PersonMerge, **kwargs: object) -> PersonMerge:
    with clock.frozen_at(AT):
        return person_unmerge(actor=borough.users[Role.MASH_MANAGER], merge_id=merge.pk,
                              reason="Different children: the school confirmed a twin.",
                              **kwargs)  # type: ignore[arg-type]


def test_the_generic_scan_finds_every_reference_to_a_person_but_history() -> None:
    labels = {f"{link.label}.{link.field.name}" for link in person_links()}
    for expected in ["people.PersonName.person", "people.Identifier.person",
                     "people.Address.person", "people.Relationship.person",
                     "people.Relationship.related", "chronology.Event.person",
                     "chronology.EventRelatedPerson.person", "rules.Alert.person",
                     "rules.Clock.person", "access.AccessGrant.person",
                     "access.BreakGlass.person"]:
        assert expected in labels
    assert "people.Person.merged_into" not in labels  # the marker is the merge's own
    assert not any(label.startswith(("audit.", "mpi.")) for label in labels)


def test_merge_moves_every_row_to_the_survivor(borough: Borough, pair: Pair) -> None:
    events = set(Event.objects.filter(person=pair.custody).values_list("pk", flat=True))
    alerts = set(Alert.objects.filter(person=pair.custody).values_list("pk", flat=True))
    assert events and alerts
    merge = _merge(borough, pair)

    assert set(Event.objects.filter(person=pair.school).values_list("pk", flat=True)) >= events
    assert set(Alert.objects.filter(person=pair.school).values_list("pk", flat=True)) == alerts
    assert Clock.objects.filter(person=pair.school).count() >= 1
    assert Identifier.objects.get(kind="nhs_number").person_id == pair.school.pk
    assert BreakGlass.objects.get().person_id == pair.school.pk
    assert AccessGrant.objects.filter(person=pair.custody).count() == 0
    assert EventRelatedPerson.objects.filter(role="co_arrested").get().person_id == pair.school.pk
    pair.custody.refresh_from_db()
    assert pair.custody.merged_into_id == pair.school.pk
    assert current_person_id(pair.custody.pk) == pair.school.pk

    # What stayed behind is exactly the rows that would have collided, each recorded.
    left = rows_referring_to(pair.custody.pk)
    kept = {(r.model, r.object_pk, r.field) for r in merge.rows.filter(outcome=RowOutcome.KEPT)}
    assert {(label.rsplit(".", 1)[0], str(pk), label.rsplit(".", 1)[1])
            for label, pks in left.items() for pk in pks} == kept
    whys = {r.model: r.why for r in merge.rows.filter(outcome=RowOutcome.KEPT)}
    assert "person_name_unique" in whys["people.PersonName"]  # the shared alias
    assert set(left) == {"people.PersonName.person", "people.Relationship.person",
                         "people.Relationship.related"}
    # The shared mother and the sibling link between the two records stayed.
    stayed = Relationship.objects.filter(pk__in=left["people.Relationship.person"])
    assert {r.kind for r in stayed} == {"mother"}
    sibling = Relationship.objects.get(kind="sibling")
    assert (sibling.person_id, sibling.related_id) == (pair.school.pk, pair.custody.pk)
    # The survivor now answers to both spellings.
    keys = set(PersonName.objects.filter(person=pair.school).values_list("name_key", flat=True))
    assert keys == {"kuba wisniewski", "tomasz nowak"}


def test_unmerge_restores_both_people_exactly(borough: Borough, pair: Pair) -> None:
    before = snapshot()
    merge = _merge(borough, pair)
    assert snapshot() != before
    moved = merge.rows.filter(outcome=RowOutcome.MOVED).count()
    assert moved > 10
    undone = _unmerge(borough, merge)
    assert snapshot() == before  # every row of every table that refers to a person
    assert undone.unmerged_at == AT and not undone.is_active
    assert PersonMerge.objects.get(pk=merge.pk).unmerge_reason.startswith("Different children")
    # An unmerge is a decision that these are two people.
    assert pair_known_distinct(pair.custody.pk, pair.school.pk)


def test_unmerge_without_marking_distinct(borough: Borough, pair: Pair) -> None:
    merge = _merge(borough, pair)
    _unmerge(borough, merge, mark_distinct=False)
    assert not pair_known_distinct(pair.custody.pk, pair.school.pk)


def test_merge_then_unmerge_leaves_rows_added_to_the_survivor_meanwhile(
    borough: Borough, pair: Pair
) -> None:
    before = snapshot()
    merge = _merge(borough, pair)
    with clock.frozen_at(AT):  # the NHS number now finds the survivor
        result = borough.submit({
            "type": "person.registered", "occurred_at": "2025-03-06T10:14:00+00:00",
            "source": {"agency": "nhs-trust", "record": "PAT-9"},
            "subject": {"given_name": "Tomasz", "family_name": "Nowak",
                        "date_of_birth": "2011-07-19", "nhs_number": "9434765919"},
            "data": {"record_type": "patient"}}).result
    assert result["person"] == pair.school.ref
    _unmerge(borough, merge)
    after = snapshot()
    new_event = Event.objects.get(source_record="PAT-9")
    assert new_event.person_id == pair.school.pk  # stays with the survivor
    before_events = {e["id"] for e in before["chronology.Event"]}
    assert [e for e in after["chronology.Event"] if e["id"] in before_events] == (
        before["chronology.Event"])


def test_chains_unwind_last_merge_first(borough: Borough, pair: Pair) -> None:
    before = snapshot()
    first = _merge(borough, pair)  # custody into school
    with clock.frozen_at(AT):
        third = borough.submit({
            "type": "person.registered", "occurred_at": "2025-03-06T10:00:00+00:00",
            "source": {"agency": "housing", "record": "H-1"},
            "subject": {"given_name": "Adam", "family_name": "Zielinski",
                        "date_of_birth": "2010-12-01"},
            "data": {}}).result
        third_person = Person.objects.get(pk=int(third["person"].removeprefix("P-")))
        second = person_merge(actor=None, survivor=third_person, merged=pair.school,
                              reason="Housing record is the same child.")
    assert current_person_id(pair.custody.pk) == third_person.pk
    assert Event.objects.filter(person=pair.custody).count() == 0
    with refused("undo that merge first"):
        _unmerge(borough, first)
    _unmerge(borough, second, mark_distinct=False)
    _unmerge(borough, first, mark_distinct=False)
    after = snapshot()
    # Every row as it was; the housing record's own rows are the only additions.
    for label, rows in before.items():
        added = [row for row in after[label] if row not in rows]
        assert [row for row in after[label] if row in rows] == rows, label
        assert all(third_person.pk in row.values() for row in added), (label, added)


def test_refusals(borough: Borough, pair: Pair) -> None:
    actor = borough.users[Role.MASH_PRACTITIONER]
    with clock.frozen_at(AT):
        with refused("into itself"):
            person_merge(actor=actor, survivor=pair.school, merged=pair.school, reason=REASON)
        with pytest.raises(ValidationFailed) as empty:
            person_merge(actor=actor, survivor=pair.school, merged=pair.custody, reason=" ")
        assert "reason" in empty.value.errors
        person_merge(actor=actor, survivor=pair.school, merged=pair.custody, reason=REASON)
        with refused("has itself been merged"):
            person_merge(actor=actor, survivor=pair.custody, merged=pair.mother, reason=REASON)
        with refused("already been merged"):
            person_merge(actor=actor, survivor=pair.mother, merged=pair.custody, reason=REASON)
    assert PersonMerge.objects.count() == 1


@pytest.mark.parametrize("role", [r for r in Role.values
                                  if r not in (Role.MASH_PRACTITIONER, Role.MASH_MANAGER)])
def test_only_mash_roles_merge(borough: Borough, pair: Pair, role: str) -> None:
    with clock.frozen_at(AT), pytest.raises(PermissionDenied):
        person_merge(actor=borough.users[role], survivor=pair.school, merged=pair.custody,
                     reason=REASON)
    assert not PersonMerge.objects.exists()


@pytest.mark.parametrize(("role", "error"), [
    (Role.MASH_PRACTITIONER, PermissionDenied), (Role.IG_OFFICER, PermissionDenied),
    (Role.SOCIAL_WORKER, NotFound), (Role.POLICE_LIAISON, NotFound),
    (Role.AGENCY_SYSTEM, NotFound),
])
def test_only_mash_managers_unmerge(borough: Borough, pair: Pair, role: str,
                                    error: type[Exception]) -> None:
    merge = _merge(borough, pair)
    with clock.frozen_at(AT), pytest.raises(error):
        person_unmerge(actor=borough.users[role], merge_id=merge.pk, reason="Not the same.")
    assert PersonMerge.objects.get().is_active


def test_merge_and_its_audit_records_commit_together(borough: Borough, pair: Pair) -> None:
    audit_before = AuditRecord.objects.count()
    before = snapshot()
    with transaction.atomic():
        merge = _merge(borough, pair)
        records = list(AuditRecord.objects.filter(action="person.merged"))
        assert {r.person_id for r in records} == {pair.school.pk, pair.custody.pk}
        assert all(r.object_id == str(merge.pk) for r in records)
        assert records[0].detail["moved"]["chronology.Event"] >= 3
        assert records[0].actor_label.startswith("mash-practitioner")
        transaction.set_rollback(True)  # anything failing later in the request undoes both
    assert AuditRecord.objects.count() == audit_before
    assert snapshot() == before
    assert not PersonMerge.objects.exists()


def test_an_unmerge_that_cannot_be_exact_is_refused_and_changes_nothing(
    borough: Borough, pair: Pair
) -> None:
    merge = _merge(borough, pair)
    moved = merge.rows.filter(model="people.Address", outcome=RowOutcome.MOVED).first()
    assert moved is not None
    # Someone else's code re-pointed a moved row behind the merge's back.
    Address.objects.filter(pk=int(moved.object_pk)).update(person=pair.mother)
    during = snapshot()
    audit_before = AuditRecord.objects.count()
    with refused("cannot be undone exactly"):
        _unmerge(borough, merge)
    assert snapshot() == during
    assert AuditRecord.objects.count() == audit_before
    assert PersonMerge.objects.get().is_active


def test_unmerge_audits_both_people(borough: Borough, pair: Pair) -> None:
    merge = _merge(borough, pair)
    _unmerge(borough, merge)
    records = AuditRecord.objects.filter(action="person.unmerged")
    assert {r.person_id for r in records} == {pair.school.pk, pair.custody.pk}
    assert records[0].detail["rows_restored"] == MergedRow.objects.filter(
        merge=merge, outcome=RowOutcome.MOVED).count()


def test_merged_person_leaves_search_and_lookups_lead_to_the_survivor(
    borough: Borough, pair: Pair
) -> None:
    worker = borough.users[Role.MASH_PRACTITIONER]
    with clock.frozen_at(AT):
        assert PersonPolicy.can_view(worker, pair.custody.pk)
        found = {p.pk for p in people_search(actor=worker, query="Tomasz Nowak")}
        assert pair.custody.pk in found
    _merge(borough, pair)
    with clock.frozen_at(AT):
        found = {p.pk for p in people_search(actor=worker, query="Tomasz Nowak")}
        assert pair.custody.pk not in found
        assert pair.school.pk in found  # the MASH relationship moved with the alert
        by_ref = people_search(actor=worker, query=pair.custody.ref)
        assert [p.pk for p in by_ref] == [pair.school.pk]


def test_a_uniqueness_rule_only_the_database_knows_keeps_the_row_and_stays_exact(
    borough: Borough, pair: Pair
) -> None:
    """An index no model declares (as a later migration or a DBA might add): the Python
    checks cannot see it, so the database refuses that one move, and only that one."""
    with clock.frozen_at(AT):
        borough.submit({
            "type": "person.address_changed", "occurred_at": "2025-03-06T10:12:00+00:00",
            "source": {"agency": "education", "record": "ADDR-SAME"},
            "subject": {"given_name": "Kuba", "family_name": "Wisniewski",
                        "date_of_birth": "2011-03-02", "upn": "F801200100001"},
            "data": {"postcode": "N15 3RT", "line": "1 High Road"}})
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # no DDL while deferred FK checks are pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("CREATE UNIQUE INDEX test_one_person_per_postcode "
                       "ON people_address (person_id, postcode)")
    before = snapshot()
    merge = _merge(borough, pair)
    [kept] = merge.rows.filter(model="people.Address", outcome=RowOutcome.KEPT)
    assert "database refused" in kept.why
    assert Address.objects.get(pk=int(kept.object_pk)).person_id == pair.custody.pk
    assert Event.objects.filter(person=pair.custody).count() == 0  # everything else moved
    _unmerge(borough, merge)
    assert snapshot() == before


def test_conditional_uniqueness_rules_are_read_from_the_model(borough: Borough,
                                                              pair: Pair) -> None:
    """Derived flags allow one *current* flag per kind: a current duplicate stays behind, a
    cleared one moves (``childstate.ChildFlag``'s conditional unique constraint)."""
    event = Event.objects.filter(person=pair.custody).first()
    assert event is not None
    current = {"flag": "missing_now", "key": "", "set_by": event, "set_at": AT}
    ChildFlag.objects.create(person=pair.school, **current)
    duplicate = ChildFlag.objects.create(person=pair.custody, **current)
    cleared = ChildFlag.objects.create(person=pair.custody, **current, cleared_at=AT,
                                       cleared_by=event)
    before = snapshot()
    merge = _merge(borough, pair)
    duplicate.refresh_from_db()
    cleared.refresh_from_db()
    assert (duplicate.person_id, cleared.person_id) == (pair.custody.pk, pair.school.pk)
    why = merge.rows.get(model="childstate.ChildFlag", object_pk=str(duplicate.pk)).why
    assert "one_current_flag" in why
    _unmerge(borough, merge)
    assert snapshot() == before


def test_models_that_declare_themselves_history_are_never_repointed(
    borough: Borough, pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EventRelatedPerson, "mpi_history", True, raising=False)
    assert "chronology.EventRelatedPerson" not in {link.label for link in person_links()}
    named = EventRelatedPerson.objects.get(role="co_arrested")
    merge = _merge(borough, pair)
    named.refresh_from_db()
    assert named.person_id == pair.custody.pk
    assert not merge.rows.filter(model="chronology.EventRelatedPerson").exists()
