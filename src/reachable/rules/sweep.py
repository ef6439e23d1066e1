"""The sweep: escalate clocks at 75 % elapsed and mark overdue clocks breached.

Set-based, so that 100,000 open clocks take seconds rather than an hour. A round selects the
ids of the due clocks once (index range scans), then works through them ``batch_size`` at a
time; each batch is one transaction:

1. lock those of the batch's clocks still due (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
   concurrent sweepers share the work instead of queueing behind each other);
2. one conditional ``UPDATE ... WHERE id IN (...) AND status = 'open' [AND escalated_at IS
   NULL] ... RETURNING id`` per kind: only the writer whose update returns a clock owns that
   transition, so each clock changes state once however many sweeps run at once;
3. for the clocks it won: the breach alerts of scheduled rules (``engine.breach_alert``), the
   escalation notifications to the team managers (a few INSERTs for the batch, emails through
   the outbox), and one audit record per clock through ``AuditBuffer`` (one INSERT), all in
   the same transaction as the change.

A crash loses nothing: an interrupted batch rolls back whole and the next sweep finds those
clocks still due.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from reachable.access.notifications import Message, notifications_send
from reachable.audit.services import AuditBuffer, audit_buffered
from reachable.core import clock
from reachable.organisations.models import Team, User
from reachable.people.models import Person
from reachable.rules.engine import breach_alert, team_for_route
from reachable.rules.models import Clock, ClockStatus
from reachable.rules.registry import get_rule

BATCH = 2000
ROUND = 100_000  # due ids of each kind selected at once
ON_COMMIT_MAX = 10  # escalation emails a batch may send on commit; more are left to the worker


@dataclass
class SweepReport:
    escalated: int = 0
    breached: int = 0
    alerts: int = 0  # raised by scheduled rules whose alert comes at the breach
    notified: int = 0


def due_for_escalation(moment: datetime) -> QuerySet[Clock]:
    return Clock.objects.filter(status=ClockStatus.OPEN, escalated_at__isnull=True,
                                escalate_at__lte=moment, deadline__gt=moment)


def due_for_breach(moment: datetime) -> QuerySet[Clock]:
    return Clock.objects.filter(status=ClockStatus.OPEN, deadline__lte=moment)


def _lock_due(due: QuerySet[Clock], ids: Sequence[int]) -> list[int]:
    """Those of ``ids`` still due, locked for this transaction; PostgreSQL skips rows another
    sweeper holds. On SQLite the IMMEDIATE transaction already holds the only write lock and
    the conditional UPDATE does the re-check, so the ids go through as they are."""
    if not ids or not connection.features.has_select_for_update_skip_locked:
        return list(ids)
    chosen = due.filter(pk__in=ids).select_for_update(skip_locked=True)
    return list(chosen.order_by("pk").values_list("pk", flat=True))


def _update_returning(ids: Sequence[int], assignments: str, set_params: Sequence[Any],
                      condition: str, condition_params: Sequence[Any]) -> list[int]:
    """``UPDATE clock SET <assignments> WHERE id IN ids AND <condition> RETURNING id``.

    Raw SQL because the ORM's ``update`` returns only a count, and the ids are what tell this
    sweeper which transitions it owns (PostgreSQL and SQLite 3.35+ both support RETURNING).
    """
    table = connection.ops.quote_name(Clock._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    # The fragments are constants of this module; every value is a query parameter.
    sql = (f"UPDATE {table} SET {assignments} WHERE id IN ({marks}) AND {condition} "  # noqa: S608
           "RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*set_params, *ids, *condition_params])
        return [row[0] for row in cursor.fetchall()]


def _db_time(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def _check_won(locked: Sequence[int], won: Sequence[int]) -> None:
    """Clocks locked while due must all be won: anything else is a bug, not a race. (Without
    row locks, SQLite, a clock may have changed since the round selected it: nothing to check.)
    """
    if connection.features.has_select_for_update_skip_locked and len(won) != len(locked):
        raise RuntimeError(f"the sweep's conditional update missed {len(locked) - len(won)} "
                           "locked, due clocks")


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
    """One transaction: lock those of the given clocks still due, transition them with one
    conditional UPDATE per kind, and write what follows. Returns the transitions won."""
    with transaction.atomic(), audit_buffered() as audit:
        won = 0
        locked = _lock_due(due_for_escalation(moment), escalating)
        if locked:
            won += _escalate(locked, moment, managers, report, audit)
        locked = _lock_due(due_for_breach(moment), breaching)
        if locked:
            won += _breach(locked, moment, report, audit)
    return won


def _escalate(ids: list[int], moment: datetime, managers: _Managers, report: SweepReport,
              audit: AuditBuffer) -> int:
    """Escalate the locked, due clocks ``ids``."""
    at = _db_time(moment)
    won = _update_returning(
        ids, "escalated_at = %s", [at],
        "status = %s AND escalated_at IS NULL AND escalate_at <= %s AND deadline > %s",
        [ClockStatus.OPEN.value, at, at])
    _check_won(ids, won)
    rows = list(Clock.objects.filter(pk__in=won).order_by("pk").values_list(
        "pk", "rule_id", "person_id", "deadline", "alert__team__manager_id"))
    manager_of: dict[int, int | None] = {}
    for pk, rule_id, _person, _deadline, alert_manager in rows:
        rule = get_rule(rule_id)
        manager_of[pk] = alert_manager if alert_manager is not None else (
            managers.for_route(rule.route) if rule is not None else None)
    users = managers.users({m for m in manager_of.values() if m is not None})
    messages = []
    for pk, rule_id, person_id, deadline, _manager in rows:
        manager_id = manager_of[pk]
        manager = users.get(manager_id) if manager_id is not None else None
        if manager is not None:
            rule = get_rule(rule_id)
            title = rule.title if rule else rule_id
            ref = _person_ref(SimpleNamespace(pk=person_id))
            messages.append(Message(
                recipient=manager, subject=f"Escalation: {rule_id} for {ref}",
                body=(f"The clock for '{title}' on {ref} is running out: "
                      f"deadline {deadline:%d %b %Y %H:%M}.")))
        audit.append(actor=None, action="clock.escalated", object_type="clock",
                     object_id=pk, person_id=person_id,
                     detail={"rule": rule_id, "manager": manager.username if manager else None})
    # A few emails go on commit (as any notification does); a flood waits for the worker, so
    # a big sweep's transaction is not followed by minutes of SMTP in this process.
    notifications_send(messages, deliver_on_commit=None if len(messages) <= ON_COMMIT_MAX
                       else False)
    report.escalated += len(rows)
    report.notified += len(messages)
    return len(rows)


def _breach(ids: list[int], moment: datetime, report: SweepReport, audit: AuditBuffer) -> int:
    """Breach the locked, overdue clocks ``ids``."""
    won = _update_returning(
        ids, "status = %s, breached_at = deadline", [ClockStatus.BREACHED.value],
        "status = %s AND deadline <= %s", [ClockStatus.OPEN.value, _db_time(moment)])
    _check_won(ids, won)
    rows = list(Clock.objects.filter(pk__in=won).order_by("pk").values_list(
        "pk", "rule_id", "person_id", "deadline"))
    # Scheduled rules: the overdue thing is the alert. Few rules do this; one clock at a time.
    scheduled = [pk for pk, rule_id, *_ in rows if _alerts_on_breach(rule_id)]
    raised: dict[int, list[int]] = {}
    if scheduled:
        for clk in Clock.objects.filter(pk__in=scheduled).select_related("event", "person"):
            raised[clk.pk] = [a.pk for a in breach_alert(clk)]
    for pk, rule_id, person_id, deadline in rows:
        audit.append(actor=None, action="clock.breached", object_type="clock",
                     object_id=pk, person_id=person_id,
                     detail={"rule": rule_id, "deadline": deadline.isoformat(),
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

