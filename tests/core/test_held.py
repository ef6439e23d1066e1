"""Held rows (``core.held``): ids reserved at once, rows inserted later, never missed by a query."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core import held as held_module
from reachable.core.held import (
    MIN_RESERVE,
    ChangeLost,
    held_flush,
    ids_reserve,
    ids_reserve_many,
    instance_build,
    instance_from_values,
    row_change,
    row_create,
    row_written,
    rows_held,
    rows_insert,
    values_insert,
)
from reachable.identity.models import LinkDecision
from reachable.people.models import Person
from reachable.rules.models import Alert, Clock, ClockStatus
from tests.borough import Borough


def _person(name: str = "Held") -> Person:
    return Person.objects.create(given_name=name, family_name="Child", name_key=f"child {name}",
                                 created_at=clock.now())


def _event_fields(borough: Borough, person: Person, record: str) -> dict[str, object]:
    now = clock.now()
    return {"person": person, "type": "custody.booked", "occurred_at": now, "recorded_at": now,
            "source_agency": borough.agencies["met-police"], "source_record": record,
            "subject": {}, "data": {}, "payload_hash": "0" * 64}


def test_reserved_ids_are_never_handed_out_again(db: None, borough: Borough) -> None:
    person = _person()
    before = Event.objects.create(**_event_fields(borough, person, "R-1"))
    reserved = ids_reserve(Event, 5)
    assert len(set(reserved)) == 5 and min(reserved) > before.pk
    after = Event.objects.create(**_event_fields(borough, person, "R-2"))
    assert after.pk not in reserved and after.pk > max(reserved)
    assert set(ids_reserve(Event, 3)).isdisjoint([*reserved, after.pk])


def test_ids_for_several_tables_are_reserved_together(db: None, borough: Borough) -> None:
    person = _person()
    reserved = ids_reserve_many({Event: 4, Alert: 3, Clock: 0})
    assert [len(reserved[Event]), len(reserved[Alert]), len(reserved[Clock])] == [4, 3, 0]
    assert all(ids == sorted(set(ids)) for ids in reserved.values())
    after = Event.objects.create(**_event_fields(borough, person, "R-3"))
    assert after.pk > max(reserved[Event])


def test_a_block_reserves_ids_for_every_model_held_before_in_one_go(
        db: None, borough: Borough, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch makes rows of several models; the block's first row reserves ids for all the
    models recent blocks used (one statement on PostgreSQL), and more only on running out."""
    monkeypatch.setattr(held_module, "_recent_use", {})  # no blocks before this test's
    person = _person()

    def block(record: str, alerts: int) -> int:
        with CaptureQueriesContext(connection) as queries, rows_held():
            event = row_create(Event, **_event_fields(borough, person, record))
            for n in range(alerts):
                row_create(Alert, rule_id="golden-hour", person=person, event=event,
                           route="mash", key=str(n), severity="red", summary="held",
                           raised_at=clock.now())
        return sum("nextval" in q["sql"] or "sqlite_sequence" in q["sql"]
                   for q in queries.captured_queries)

    block("B-0", alerts=1)  # whatever came before, the models are now known
    if connection.vendor != "postgresql":  # SQLite reserves table by table, in process
        return
    assert block("B-1", alerts=2) == 1
    # Recent blocks used at most two alerts, so this one reserves the least for alerts; more
    # than that runs out and reserves again, once.
    assert block("B-2", alerts=MIN_RESERVE + 1) == 2
    assert Alert.objects.filter(event__source_record="B-2").count() == MIN_RESERVE + 1
    assert Event.objects.filter(source_record__startswith="B-").count() == 3


def test_held_rows_wait_until_the_block_ends(db: None, borough: Borough) -> None:
    person = _person()
    with rows_held():
        event = row_create(Event, **_event_fields(borough, person, "H-1"))
        assert event.pk is not None and not row_written(event)
        alert = row_create(Alert, rule_id="golden-hour", person=person, event=event,
                           route="mash", severity="red", summary="held", raised_at=clock.now())
        # Nothing is in the table yet: a raw count (not through the model) sees no row.
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM chronology_event")
            assert cursor.fetchone()[0] == 0
    assert row_written(event) and row_written(alert)
    stored = Alert.objects.select_related("event").get(pk=alert.pk)
    assert stored.event.source_record == "H-1" and stored.event_id == event.pk


def test_any_query_on_a_held_model_flushes_first(db: None, borough: Borough) -> None:
    person = _person()
    with rows_held():
        event = row_create(Event, **_event_fields(borough, person, "Q-1"))
        assert Event.objects.filter(source_record="Q-1").exists()  # exists() flushed it
        assert row_written(event)
        second = row_create(Event, **_event_fields(borough, person, "Q-2"))
        clk = row_create(Clock, rule_id="golden-hour", person=person, event=second,
                         unit="clock_hours", amount=1, started_at=clock.now(),
                         deadline=clock.now(), escalate_at=clock.now())
        # A query on another held model flushes everything, events included.
        assert Clock.objects.filter(pk=clk.pk).update(label="changed") == 1
        assert list(Event.objects.filter(person=person).values_list("source_record",
                                                                   flat=True)) == ["Q-1", "Q-2"]
        assert held_flush() == 0  # nothing left to write


def test_a_failed_block_writes_nothing(db: None, borough: Borough) -> None:
    person = _person()
    with pytest.raises(RuntimeError), transaction.atomic(), rows_held():
        row_create(Event, **_event_fields(borough, person, "F-1"))
        raise RuntimeError("the batch failed")
    assert not Event.objects.filter(source_record="F-1").exists()


def test_outside_a_block_rows_are_written_at_once(db: None, borough: Borough) -> None:
    event = row_create(Event, **_event_fields(borough, _person(), "N-1"))
    assert row_written(event) and Event.objects.filter(pk=event.pk).exists()


def test_rows_insert_stores_what_bulk_create_stores(db: None, borough: Borough) -> None:
    """JSON, datetimes, foreign keys: the streamed insert and the ORM's agree, value for value
    (with ids given, and with the table numbering the rows itself)."""
    person = _person()
    now = clock.now()
    # Accents, curly quotes, a backslash and a tab: what COPY's text format must escape.
    text = "Zo\u00eb \u2018quoted\u2019 \\ tab\t"
    same = {"data": {"nested": {"list": [1, "two", None]}, "text": text},
            "occurred_at": now, "recorded_at": now}
    Event.objects.bulk_create([Event(**{**_event_fields(borough, person, "B-1"), **same})])
    with_id = Event(**{**_event_fields(borough, person, "B-2"), **same})
    with_id.pk = ids_reserve(Event, 1)[0]
    rows_insert(Event, [with_id])
    assert row_written(with_id)
    rows_insert(Event, [Event(**{**_event_fields(borough, person, "B-3"), **same})])
    fields = ("type", "occurred_at", "recorded_at", "source_agency_id", "person_id", "subject",
              "data", "payload_hash")
    stored = {e.source_record: tuple(getattr(e, f) for f in fields)
              for e in Event.objects.filter(source_record__startswith="B-")}
    assert stored["B-2"] == stored["B-1"] == stored["B-3"]
    assert Event.objects.get(source_record="B-2").pk == with_id.pk
    assert Event.objects.get(source_record="B-2").data == same["data"]


def test_dates_zoned_and_naive_datetimes_and_json_scalars_store_as_bulk_create_does(
        db: None, borough: Borough) -> None:
    """The values ``rows_insert`` hands straight to the backend's adapter (plain dates, aware
    datetimes in any zone, JSON that is a bare string or number) and the ones it still sends
    through the field (a naive datetime, which Django warns about and makes aware) are stored
    as ``bulk_create`` stores them."""
    london = zoneinfo.ZoneInfo("Europe/London")
    summer = datetime(2026, 7, 1, 9, 30, tzinfo=london)  # BST: 08:30 UTC
    naive = datetime(2026, 8, 5, 14, 0)  # read as London time: 13:00 UTC
    person = _person()
    given = {"occurred_at": summer, "subject": "a bare string", "data": 7, "related": [1.5, True]}
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        Event.objects.bulk_create([Event(**{**_event_fields(borough, person, "Z-1"), **given,
                                            "recorded_at": naive})])
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        rows_insert(Event, [Event(**{**_event_fields(borough, person, "Z-2"), **given,
                                     "recorded_at": naive})])
    fields = ("occurred_at", "recorded_at", "subject", "data", "related")
    stored = {e.source_record: tuple(getattr(e, f) for f in fields)
              for e in Event.objects.filter(source_record__startswith="Z-")}
    assert stored["Z-2"] == stored["Z-1"]
    assert stored["Z-2"][0] == summer and stored["Z-2"][2:] == ("a bare string", 7, [1.5, True])
    born = date(2015, 2, 28)
    Person.objects.bulk_create([Person(given_name="Bulk", family_name="Born", name_key="bb",
                                       date_of_birth=born, created_at=summer)])
    rows_insert(Person, [Person(given_name="Held", family_name="Born", name_key="hb",
                                date_of_birth=born, created_at=summer)])
    assert set(Person.objects.filter(family_name="Born")
               .values_list("date_of_birth", "created_at")) == {(born, summer)}


def test_rows_insert_refuses_rows_with_and_without_ids(db: None, borough: Borough) -> None:
    person = _person()
    given = Event(**_event_fields(borough, person, "M-1"))
    given.pk = ids_reserve(Event, 1)[0]
    with pytest.raises(ValueError, match="with and without ids"):
        rows_insert(Event, [given, Event(**_event_fields(borough, person, "M-2"))])
    assert not Event.objects.filter(source_record__startswith="M-").exists()


def test_values_insert_stores_what_create_stores(db: None, borough: Borough) -> None:
    """Rows given as column values (no instance): the same stored values as ``create``, with
    left-out fields taking their defaults, and a mistyped field refused before anything is
    written."""
    person, candidate = _person("Given"), _person("Candidate")
    now = clock.now()
    values = {"person_id": person.pk, "candidate_id": candidate.pk, "source": "event:x:1",
              "agency_code": "x", "decision": "review", "matched_on": "new",
              "match_weight": 3.25, "match_probability": 0.9, "model_version": "v1",
              "created_at": now}
    LinkDecision.objects.create(**{**values, "source": "event:x:0"})
    values_insert(LinkDecision, [values, {**values, "source": "event:x:2", "candidate_id": None,
                                          "match_weight": None}])
    fields = ("person_id", "candidate_id", "record_key", "agency_code", "decision",
              "matched_on", "match_weight", "match_probability", "model_version", "created_at")
    stored = {d.source: tuple(getattr(d, f) for f in fields)
              for d in LinkDecision.objects.filter(source__startswith="event:x:")}
    assert stored["event:x:1"] == stored["event:x:0"]
    assert stored["event:x:1"][2] == ""  # record_key left out: its default
    assert stored["event:x:2"][1] is None and stored["event:x:2"][6] is None
    with pytest.raises(ValueError, match="no such field"):
        values_insert(LinkDecision, [{**values, "source": "event:x:3", "wieght": 1.0}])
    assert not LinkDecision.objects.filter(source="event:x:3").exists()


def test_instance_build_is_the_keyword_constructor_without_its_relation_checks(
    db: None, borough: Borough,
) -> None:
    """The same field values as ``Model(**fields)``, the related objects cached (no query to
    read them back), defaults for what is left out; a wrong object or an unknown field is
    refused as the keyword constructor refuses it."""
    person = _person()
    event = Event.objects.create(**_event_fields(borough, person, "I-1"))
    fields = {"rule_id": "golden-hour", "person": person, "event": event, "team": None,
              "route": "mash", "severity": "red", "summary": "built", "raised_at": clock.now()}
    built, keyword = instance_build(Alert, **fields), Alert(**fields)
    assert ({f.attname: getattr(built, f.attname) for f in Alert._meta.concrete_fields}
            == {f.attname: getattr(keyword, f.attname) for f in Alert._meta.concrete_fields})
    assert built.person_id == person.pk and built.status == keyword.status  # a default
    with CaptureQueriesContext(connection) as queries:
        assert built.person is person and built.event is event and built.team is None
    assert len(queries) == 0
    by_id = instance_build(Alert, **{k: v for k, v in fields.items() if k != "person"},
                           person_id=person.pk)
    assert by_id.person_id == person.pk and by_id.person == person
    with pytest.raises(TypeError, match=r"unexpected fields \['person_id'\]"):
        instance_build(Alert, **fields, person_id=person.pk)  # given both ways
    with pytest.raises(ValueError, match="must be a Person"):
        instance_build(Alert, **{**fields, "person": event})
    with pytest.raises(TypeError, match="unexpected fields"):
        instance_build(Alert, **fields, severty="red")


def _stored_clock(borough: Borough, record: str) -> Clock:
    person = _person(record)
    event = Event.objects.create(**_event_fields(borough, person, record))
    now = clock.now()
    return Clock.objects.create(rule_id="golden-hour", person=person, event=event,
                                unit="clock_hours", amount=1, started_at=now, deadline=now,
                                escalate_at=now)


def _met(at: object) -> dict[str, object]:
    return {"status": ClockStatus.MET, "met_at": at, "met_by": "mash.decided"}


def test_instances_from_values_are_what_the_constructor_makes(
        db: None, borough: Borough) -> None:
    """Positional values become the same attributes the constructor sets, a fresh unsaved
    state, and relation ids the descriptors read; with anyone listening for ``post_init``
    the constructor itself is used, so they hear about every instance."""
    person = _person()
    values = [getattr(Alert(rule_id="golden-hour", person=person, route="mash",
                            severity="red", summary="s", raised_at=clock.now()), f.attname)
              for f in Alert._meta.concrete_fields]
    made, constructed = instance_from_values(Alert, values), Alert(*values)
    assert _attributes(made) == _attributes(constructed)
    assert made._state.adding and made._state.db is None and made.person == person
    heard: list[object] = []

    def listener(sender: type, instance: object, **kwargs: object) -> None:
        heard.append(instance)

    post_init.connect(listener, sender=Alert)
    try:
        made = instance_from_values(Alert, values)
    finally:
        post_init.disconnect(listener, sender=Alert)
    assert heard == [made]


def _attributes(row: Alert) -> dict[str, object]:
    return {k: v for k, v in row.__dict__.items() if k != "_state"}


def test_a_change_outside_a_block_is_made_at_once_and_answers_truly(
        db: None, borough: Borough) -> None:
    clk = _stored_clock(borough, "C-1")
    now = clock.now()
    assert row_change(Clock, clk.pk, _met(now), where={"status": (ClockStatus.OPEN,)})
    clk.refresh_from_db()
    assert (clk.status, clk.met_at, clk.met_by) == (ClockStatus.MET, now, "mash.decided")
    # No longer open: the condition holds it back, and the answer says so.
    assert not row_change(Clock, clk.pk, {"status": ClockStatus.BREACHED},
                          where={"status": (ClockStatus.OPEN,)})
    clk.refresh_from_db()
    assert clk.status == ClockStatus.MET


def test_held_changes_wait_for_the_flush_and_go_in_one_statement(
        db: None, borough: Borough) -> None:
    clocks = [_stored_clock(borough, f"C-{n}") for n in range(3)]
    now = clock.now()
    with CaptureQueriesContext(connection) as queries, rows_held():
        for clk in clocks:
            assert row_change(Clock, clk.pk, _met(now), where={"status": (ClockStatus.OPEN,)})
        with connection.cursor() as cursor:  # not yet written
            cursor.execute("SELECT COUNT(*) FROM rules_clock WHERE status = 'met'")
            assert cursor.fetchone()[0] == 0
    # Django logs an executemany once, as "3 times: UPDATE ...".
    updates = [q["sql"] for q in queries.captured_queries if "UPDATE" in q["sql"]]
    assert len(updates) == 1 and updates[0].startswith("3 times: UPDATE"), updates
    assert set(Clock.objects.values_list("status", "met_at")) == {(ClockStatus.MET, now)}


def test_a_held_change_that_finds_its_row_changed_is_lost_loudly(
        db: None, borough: Borough) -> None:
    clk, other = _stored_clock(borough, "L-1"), _stored_clock(borough, "L-2")
    with pytest.raises(ChangeLost, match="1 of 2 changes to rules_clock"), \
            transaction.atomic(), rows_held():
        for row in (clk, other):
            row_change(Clock, row.pk, _met(clock.now()), where={"status": (ClockStatus.OPEN,)})
        # Changed behind the batch's back after it decided (as another transaction would).
        with connection.cursor() as cursor:
            cursor.execute("UPDATE rules_clock SET status = 'breached' WHERE id = %s",
                           [clk.pk])
    assert Clock.objects.get(pk=clk.pk).status == ClockStatus.OPEN  # rolled back whole
    # A change that need not happen (an alert someone acknowledged meanwhile) is not lost.
    with rows_held():
        row_change(Clock, clk.pk, {"status": ClockStatus.STOPPED},
                   where={"status": (ClockStatus.MET,)}, must_change=False)
    assert Clock.objects.get(pk=clk.pk).status == ClockStatus.OPEN


def test_two_held_changes_to_one_row_are_made_in_order(db: None, borough: Borough) -> None:
    clk = _stored_clock(borough, "O-1")
    now = clock.now()
    with rows_held():
        assert row_change(Clock, clk.pk, {"status": ClockStatus.PAUSED, "paused_at": now},
                          where={"status": (ClockStatus.OPEN,)})
        assert row_change(Clock, clk.pk, {"status": ClockStatus.OPEN, "paused_at": None},
                          where={"status": (ClockStatus.PAUSED,)})
        assert row_change(Clock, clk.pk, _met(now),
                          where={"status": (ClockStatus.OPEN, ClockStatus.PAUSED)})
    clk.refresh_from_db()
    assert (clk.status, clk.paused_at, clk.met_at) == (ClockStatus.MET, None, now)
