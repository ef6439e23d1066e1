"""The sweep: escalate clocks at 75 % elapsed and mark overdue clocks breached.

Set-based, so that 100,000 open clocks take seconds rather than an hour. A round selects the
ids of the due clocks once (index range scans), then works through them ``batch_size`` at a
time; each batch is one transaction:

1. per kind, lock those of the batch's clocks still due (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so concurrent sweepers share the work instead of queueing behind each other),
   then one conditional ``UPDATE ... WHERE id = ANY(...) AND status = 'open' [AND escalated_at
   IS NULL] ... RETURNING ...``: only the writer whose update returns a clock owns that
   transition, so each clock changes state once however many sweeps run at once;
2. for the clocks it won: the breach alerts of scheduled rules (``engine.breach_alert``), the
   escalation notifications (one per manager per batch, a digest when it lists several
   clocks; emails through the outbox), and one audit record per clock through ``AuditBuffer``
   (one COPY or INSERT), all in the same transaction as the change.

A crash loses nothing: an interrupted batch rolls back whole and the next sweep finds those
clocks still due.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from reachable.access.notifications import Message, notifications_send
from reachable.audit.services import AuditBuffer, audit_buffered
from reachable.core import clock
from reachable.core.sql import column_in
from reachable.organisations.models import Team, User
from reachable.people.models import Person
from reachable.rules.engine import breach_alert, team_for_route
from reachable.rules.models import Alert, Clock, ClockStatus
from reachable.rules.registry import get_rule

BATCH = 2000
ROUND = 100_000  # due ids of each kind selected at once
DIGEST_LINES = 200  # clocks listed in one escalation digest; the rest are counted


@dataclass
class SweepReport:
    escalated: int = 0
    breached: int = 0
    alerts: int = 0  # raised by scheduled rules whose alert comes at the breach
    notified: int = 0


# The due conditions as SQL, for the lock and the conditional UPDATE (kept equal to the two
# querysets below, which select the round's ids): escalation takes (status, moment, moment),
# breach takes (status, moment).
ESCALATION_DUE = "status = %s AND escalated_at IS NULL AND escalate_at <= %s AND deadline > %s"
BREACH_DUE = "status = %s AND deadline <= %s"
# The escalated clock and the manager of its alert's team (if it has an alert with a team).
_ALERT, _TEAM, _CLOCK = Alert._meta.db_table, Team._meta.db_table, Clock._meta.db_table
# Table names of our own models; no values.
ESCALATED_RETURNING = (
    "id, rule_id, person_id, deadline, "  # noqa: S608
    f"(SELECT t.manager_id FROM {_ALERT} a JOIN {_TEAM} t ON t.id = a.team_id "
    f"WHERE a.id = {_CLOCK}.alert_id)")


def due_for_escalation(moment: datetime) -> QuerySet[Clock]:
    return Clock.objects.filter(status=ClockStatus.OPEN, escalated_at__isnull=True,
                                escalate_at__lte=moment, deadline__gt=moment)


def due_for_breach(moment: datetime) -> QuerySet[Clock]:
    return Clock.objects.filter(status=ClockStatus.OPEN, deadline__lte=moment)


def _lock_due(ids: Sequence[int], condition: str, params: Sequence[Any]) -> list[int]:
    """Those of ``ids`` still due (``condition``), locked for this transaction; PostgreSQL
    skips rows another sweeper holds (``FOR UPDATE SKIP LOCKED``), so concurrent sweepers
    share the work instead of queueing behind each other. On SQLite the IMMEDIATE transaction
    already holds the only write lock and the conditional UPDATE does the re-check, so the ids
    go through as they are.

    A separate statement, not a CTE or sub-select of the UPDATE: joined to a CTE, PostgreSQL
    hashes the whole (growing, churning) table on every batch; two index look-ups do not.
    """
    if not ids or not connection.features.has_select_for_update_skip_locked:
        return list(ids)
    table = connection.ops.quote_name(Clock._meta.db_table)
    where, id_params = column_in("id", ids)
    sql = (f"SELECT id FROM {table} WHERE {where} AND {condition} "  # noqa: S608
           "ORDER BY id FOR UPDATE SKIP LOCKED")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*id_params, *params])
        return [row[0] for row in cursor.fetchall()]


def _update_returning(ids: Sequence[int], assignments: str, set_params: Sequence[Any],
                      condition: str, condition_params: Sequence[Any], returning: str
                      ) -> list[tuple[Any, ...]]:
    """Transition those of ``ids`` still due (``condition``); the rows won, in id order.

    ``UPDATE clock SET <assignments> WHERE <id in ids> AND <condition> RETURNING ...`` over the
    rows ``_lock_due`` chose: only the writer whose update returns a clock owns that
    transition. Raw SQL because the ORM's ``update`` returns only a count; the rows returned
    carry what the rest of the batch needs, so nothing is read twice.
    """
    ids = _lock_due(ids, condition, condition_params)
    if not ids:
        return []
    table = connection.ops.quote_name(Clock._meta.db_table)
    where, id_params = column_in("id", ids)
    # The fragments are constants of this module; every value is a query parameter.
    sql = (f"UPDATE {table} SET {assignments} WHERE {where} AND {condition} "  # noqa: S608
           f"RETURNING {returning}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*set_params, *id_params, *condition_params])
        return sorted(cursor.fetchall())


def _aware(value: Any) -> datetime:
    """A datetime read by raw SQL, as the ORM would give it (SQLite returns text)."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None, value
        value = parsed
    assert isinstance(value, datetime)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def _db_time(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


# The person's reference as ``Person.ref`` makes it, without building a Person per clock.
_person_ref = Person.ref.fget  # type: ignore[attr-defined]


class _Managers:
    """The manager to tell about each escalated clock, looked up once per team or route."""

    def __init__(self) -> None:
        self._route: dict[str, int | None] = {}
        self._users: dict[int, User] = {}

    def for_route(self, route: str) -> int | None:
        if route not in self._route:
            team: Team | None = team_for_route(route)
            self._route[route] = team.manager_id if team is not None else None
        return self._route[route]

    def users(self, ids: set[int]) -> dict[int, User]:
        missing = ids - set(self._users)
        if missing:
            self._users.update(User.objects.in_bulk(list(missing)))
        return {pk: self._users[pk] for pk in ids if pk in self._users}


def _batch(escalating: Sequence[int], breaching: Sequence[int], moment: datetime,
           managers: _Managers, report: SweepReport) -> int:
    """One transaction: transition those of the given clocks still due with one conditional
    UPDATE per kind, and write what follows. Returns the transitions won."""
    with transaction.atomic(), audit_buffered() as audit:
        won = 0
        if escalating:
            won += _escalate(escalating, moment, managers, report, audit)
        if breaching:
            won += _breach(breaching, moment, report, audit)
    return won


def _escalate(ids: Sequence[int], moment: datetime, managers: _Managers, report: SweepReport,
              audit: AuditBuffer) -> int:
    """Escalate those of the clocks ``ids`` still due for it."""
    at = _db_time(moment)
    rows = _update_returning(ids, "escalated_at = %s", [at], ESCALATION_DUE,
                             [ClockStatus.OPEN.value, at, at], ESCALATED_RETURNING)
    manager_of: dict[int, int | None] = {}
    for pk, rule_id, _person, _deadline, alert_manager in rows:
        rule = get_rule(rule_id)
        manager_of[pk] = alert_manager if alert_manager is not None else (
            managers.for_route(rule.route) if rule is not None else None)
    users = managers.users({m for m in manager_of.values() if m is not None})
    escalated: dict[int, list[_Escalated]] = {}  # by manager id
    for pk, rule_id, person_id, deadline, _manager in rows:
        manager_id = manager_of[pk]
        manager = users.get(manager_id) if manager_id is not None else None
        if manager is not None:
            escalated.setdefault(manager.pk, []).append(_Escalated(
                rule_id, _person_ref(SimpleNamespace(pk=person_id)), _aware(deadline)))
        audit.append(actor=None, action="clock.escalated", object_type="clock",
                     object_id=pk, person_id=person_id,
                     detail={"rule": rule_id, "manager": manager.username if manager else None})
    messages = [_escalation_message(users[manager_id], clocks)
                for manager_id, clocks in escalated.items()]
    # Delivered by the outbox pass that follows every sweep (worker, ``reachable sweep``), not
    # on each batch's commit: a sweep's batches are not held up by SMTP.
    notifications_send(messages, deliver_on_commit=False)
    report.escalated += len(rows)
    report.notified += len(messages)
    return len(rows)


@dataclass(frozen=True)
class _Escalated:
    rule_id: str
    ref: str
    deadline: datetime

    def describe(self) -> str:
        rule = get_rule(self.rule_id)
        title = rule.title if rule else self.rule_id
        return f"the clock for '{title}' on {self.ref}: deadline {self.deadline:%d %b %Y %H:%M}"


def _escalation_message(manager: User, clocks: list[_Escalated]) -> Message:
    """One message per manager per batch: a clock on its own reads as it always did; several
    make a digest (a manager told about 2,000 clocks wants one email listing them, not 2,000).
    """
    if len(clocks) == 1:
        [one] = clocks
        return Message(recipient=manager, subject=f"Escalation: {one.rule_id} for {one.ref}",
                       body=f"Running out: {one.describe()}.")
    shown = clocks[:DIGEST_LINES]
    more = len(clocks) - len(shown)
    body = "\n".join([f"{len(clocks)} clocks are running out:", "",
                      *(f"- {c.rule_id}: {c.describe()}" for c in shown),
                      *([f"- and {more} more: see the team's alert queue"] if more else [])])
    return Message(recipient=manager, subject=f"Escalation: {len(clocks)} clocks running out",
                   body=body)


def _breach(ids: Sequence[int], moment: datetime, report: SweepReport, audit: AuditBuffer) -> int:
    """Breach those of the clocks ``ids`` still overdue."""
    rows = _update_returning(
        ids, "status = %s, breached_at = deadline", [ClockStatus.BREACHED.value],
        BREACH_DUE, [ClockStatus.OPEN.value, _db_time(moment)], "id, rule_id, person_id, deadline")
    # Scheduled rules: the overdue thing is the alert. Few rules do this; one clock at a time.
    scheduled = [pk for pk, rule_id, *_ in rows if _alerts_on_breach(rule_id)]
    raised: dict[int, list[int]] = {}
    if scheduled:
        for clk in Clock.objects.filter(pk__in=scheduled).select_related("event", "person"):
            raised[clk.pk] = [a.pk for a in breach_alert(clk)]
    for pk, rule_id, person_id, deadline in rows:
        audit.append(actor=None, action="clock.breached", object_type="clock",
                     object_id=pk, person_id=person_id,
                     detail={"rule": rule_id, "deadline": _aware(deadline).isoformat(),
                             "alerts": raised.get(pk, [])})
    report.breached += len(rows)
    report.alerts += sum(len(a) for a in raised.values())
    return len(rows)


def _alerts_on_breach(rule_id: str) -> bool:
    rule = get_rule(rule_id)
    spec = rule.effective_clock() if rule is not None else None
    return spec is not None and spec.alert_on_breach


def clocks_sweep(*, now: datetime | None = None, batch_size: int = BATCH,
                 should_stop: Callable[[], bool] | None = None) -> SweepReport:
    """Escalate or breach every clock due at ``now`` (default: the platform clock).

    A round selects the due ids once (an index range scan; up to ``ROUND`` of each kind) and
    works through them ``batch_size`` at a time. Clocks another sweeper holds are skipped:
    that sweeper transitions them, or, if it dies, the next round or sweep does. Rounds repeat
    while a round was full and won something. ``should_stop`` is asked between batches (a
    worker told to shut down finishes the batch in hand and leaves the rest to the next sweep).
    """
    moment = now or clock.now()
    report = SweepReport()
    managers = _Managers()

    def stopping() -> bool:
        return should_stop is not None and should_stop()

    while not stopping():
        escalating = list(due_for_escalation(moment).order_by("pk")
                          .values_list("pk", flat=True)[:ROUND])
        breaching = list(due_for_breach(moment).order_by("pk")
                         .values_list("pk", flat=True)[:ROUND])
        won = 0
        for start in range(0, max(len(escalating), len(breaching)), batch_size):
            if stopping():
                break
            won += _batch(escalating[start:start + batch_size],
                          breaching[start:start + batch_size], moment, managers, report)
        if not won or (len(escalating) < ROUND and len(breaching) < ROUND):
            break
    return report


def next_clock_transition(after: datetime) -> datetime | None:
    """The next moment a sweep would change something (for simulated time in replays)."""
    open_clocks = Clock.objects.filter(status=ClockStatus.OPEN)
    times = [
        open_clocks.filter(escalated_at__isnull=True, escalate_at__gt=after)
        .order_by("escalate_at").values_list("escalate_at", flat=True).first(),
        open_clocks.filter(deadline__gt=after).order_by("deadline")
        .values_list("deadline", flat=True).first(),
    ]
    due = [t for t in times if t is not None]
    return min(due) if due else None

