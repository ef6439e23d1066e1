"""The audit log: every read and write leaves a record in its own transaction; the hash chain
catches tampering; PostgreSQL refuses changes outright."""

from __future__ import annotations

import itertools
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from reachable.access.services import allocation_create, break_glass_open
from reachable.audit.chain import GENESIS_HASH, record_hash
from reachable.audit.models import AuditRecord
from reachable.audit.services import audit_append
from reachable.audit.verify import verify_chain
from reachable.core import clock
from reachable.people.models import Person
from reachable.records.selectors import (
    people_search,
    person_record,
    record_viewers,
    team_alert_queue,
)
from reachable.rules.models import Alert
from reachable.rules.services import alert_acknowledge
from tests.borough import Borough, custody_event
from tests.world import AT


@pytest.fixture
def child(borough: Borough) -> Person:
    with clock.frozen_at(AT):
        borough.submit(custody_event())
    return Person.objects.get()


def latest() -> AuditRecord:
    return AuditRecord.objects.order_by("-id").first()  # type: ignore[return-value]


def test_reads_each_append_an_audit_record(borough: Borough, child: Person) -> None:
    mash = borough.users["mash_practitioner"]
    manager = borough.users["mash_manager"]
    with clock.frozen_at(AT):
        person_record(actor=mash, person_id=child.pk)
        viewed = latest()
        people_search(actor=mash, query="Nowak")
        searched = latest()
        team_alert_queue(actor=mash)
        listed = latest()
        record_viewers(actor=manager, person_id=child.pk)
        audited = latest()
    assert (viewed.action, viewed.actor_id, viewed.person_id) == ("person.viewed", mash.pk,
                                                                  child.pk)
    assert (searched.action, searched.actor_id) == ("people.searched", mash.pk)
    assert searched.detail["query"] == "Nowak"
    assert searched.detail["results"] == [child.pk]
    assert (listed.action, listed.actor_id) == ("alerts.listed", mash.pk)
    assert listed.detail["alerts"] == [Alert.objects.get().pk]
    assert (audited.action, audited.actor_id, audited.person_id) == (
        "person.audit_viewed", manager.pk, child.pk)
    assert verify_chain().intact


def test_record_viewers_lists_who_opened_the_record(borough: Borough, child: Person) -> None:
    mash = borough.users["mash_practitioner"]
    with clock.frozen_at(AT):
        person_record(actor=mash, person_id=child.pk)
        views = record_viewers(actor=borough.users["ig_officer"], person_id=child.pk)
    assert [(v.actor_id, v.action) for v in views] == [(mash.pk, "person.viewed")]


def test_writes_each_append_an_audit_record(borough: Borough, child: Person) -> None:
    with clock.frozen_at(AT):
        allocation_create(actor=borough.users["team_manager"], person=child,
                          worker=borough.users["social_worker"])
        allocated = latest()
        break_glass_open(actor=borough.users["police_liaison"], person_id=child.pk,
                         reason="Child reported with weapon outside school, need history now")
        glass = latest()
        alert_acknowledge(actor=borough.users["mash_practitioner"],
                          alert_id=Alert.objects.get().pk,
                          information_shared="Shared custody record with the MASH police desk.")
        acknowledged = latest()
    assert (allocated.action, allocated.person_id) == ("allocation.created", child.pk)
    assert allocated.actor_id == borough.users["team_manager"].pk
    assert (glass.action, glass.actor_id) == ("break_glass.opened",
                                              borough.users["police_liaison"].pk)
    assert acknowledged.action == "alert.acknowledged"
    assert AuditRecord.objects.filter(action="event.accepted", person_id=child.pk).count() == 1
    assert verify_chain().intact


def test_the_audit_record_rolls_back_with_the_read(borough: Borough, child: Person) -> None:
    before = AuditRecord.objects.count()

    class Abandon(Exception):
        pass

    with clock.frozen_at(AT), pytest.raises(Abandon), transaction.atomic():
        person_record(actor=borough.users["mash_practitioner"], person_id=child.pk)
        assert AuditRecord.objects.count() == before + 1
        raise Abandon
    assert AuditRecord.objects.count() == before


def test_audit_append_outside_a_transaction_is_refused(transactional_db: None) -> None:
    with pytest.raises(RuntimeError):
        audit_append(actor=None, action="test.outside", object_type="test")
    assert not AuditRecord.objects.filter(action="test.outside").exists()


def test_each_record_links_to_the_one_before(borough: Borough, child: Person) -> None:
    records = list(AuditRecord.objects.order_by("id"))
    assert records[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
    assert len({r.hash for r in records}) == len(records)


def verify() -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("audit", "verify", stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_verify_reports_an_intact_chain(borough: Borough, child: Person) -> None:
    output, error = verify()
    assert error is None
    assert "intact" in output
    assert f"{AuditRecord.objects.count()} records" in output
    out = StringIO()
    call_command("audit", "verify", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["intact"] is True and report["first_broken_id"] is None


def test_verify_shows_its_progress_on_stderr(borough: Borough, child: Person) -> None:
    total = AuditRecord.objects.count()
    seen: list[int] = []
    assert verify_chain(batch_size=2, progress=seen.append).intact
    assert seen == sorted(seen) and seen[-1] == total and len(seen) == (total + 1) // 2
    out, err = StringIO(), StringIO()
    call_command("audit", "verify", stdout=out, stderr=err)
    assert "audit verify" in err.getvalue() and f"{total}/{total}" in err.getvalue()
    quiet = StringIO()
    call_command("audit", "verify", "--no-progress", stdout=StringIO(), stderr=quiet)
    assert quiet.getvalue() == ""


def _sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL refuses UPDATE/DELETE on the log (see the trigger tests)")


def test_verify_names_a_record_whose_detail_was_altered(borough: Borough, child: Person) -> None:
    _sqlite_only()
    target = AuditRecord.objects.get(action="event.accepted")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET detail = %s WHERE id = %s",
                       [json.dumps({"type": "nothing to see"}), target.pk])
    output, error = verify()
    assert error is not None and error.returncode == 1
    assert f"record {target.pk}" in output
    assert verify_chain().first_broken_id == target.pk


def test_verify_names_the_record_after_a_deleted_one(borough: Borough, child: Person) -> None:
    _sqlite_only()
    ids = list(AuditRecord.objects.order_by("id").values_list("id", flat=True))
    victim, successor = ids[3], ids[4]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditrecord WHERE id = %s", [victim])
    output, error = verify()
    assert error is not None and error.returncode == 1
    assert f"record {successor}" in output


def test_verify_catches_a_rehashed_forgery_at_the_next_link(borough: Borough,
                                                           child: Person) -> None:
    _sqlite_only()
    ids = list(AuditRecord.objects.order_by("id").values_list("id", flat=True))
    forged = AuditRecord.objects.get(pk=ids[2])
    # A careful forger recomputes the altered record's own hash; the next record still points
    # at the original.
    forged.actor_label = "somebody else"
    new_hash = record_hash(
        prev_hash=forged.prev_hash, at=forged.at, actor_id=forged.actor_id,
        actor_label=forged.actor_label, actor_agency=forged.actor_agency, action=forged.action,
        object_type=forged.object_type, object_id=forged.object_id,
        person_id=forged.person_id, detail=forged.detail,
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET actor_label = %s, hash = %s WHERE id = %s",
                       [forged.actor_label, new_hash, forged.pk])
    report = verify_chain()
    assert not report.intact
    assert report.first_broken_id == ids[3]


def test_verify_streams_in_batches(borough: Borough, child: Person) -> None:
    total = AuditRecord.objects.count()
    assert verify_chain(batch_size=3) == verify_chain(batch_size=10_000)
    assert verify_chain(batch_size=3).records == total


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_auditrecord SET detail = '{}' WHERE id = %s",
     "DELETE FROM audit_auditrecord WHERE id = %s"],
)
def test_postgres_refuses_update_and_delete(postgres_only: None, borough: Borough,
                                            child: Person, sql: str) -> None:
    target = AuditRecord.objects.order_by("id").first()
    assert target is not None
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql, [target.pk])
    assert verify_chain().intact
    assert AuditRecord.objects.filter(pk=target.pk, detail=target.detail).exists()
