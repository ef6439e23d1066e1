"""Telling professionals: an in-app notification, and an email through a transactional outbox.

``notification_send`` writes the ``Notification`` and its ``EmailOutbox`` row in the caller's
transaction, so nobody is emailed about something that was rolled back and no committed
notification can lose its email. Delivery happens after commit:

- on commit, as a fast path, in the process that made the notification (setting
  ``REACHABLE_EMAIL_ON_COMMIT``, default on; bulk paths such as the sweep leave it to the worker
  unless asked);
- by ``reachable worker`` (``outbox_deliver``), which is the guarantee: it retries with
  exponential backoff up to ``REACHABLE_EMAIL_MAX_ATTEMPTS`` and keeps the last error.

A row is claimed with a lease by a conditional UPDATE, so two workers never send it at the
same time. Delivery is at least once, not exactly once: a process that dies after the mail
server accepted a message but before the row is marked sent will have it sent again when the
lease runs out. Every attempt carries the same ``Message-ID`` (derived from the outbox id) so
the duplicate can be recognised downstream (decision record 0008).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import F, Field, Model, Q

from reachable.access.models import EmailOutbox, EmailStatus, Notification
from reachable.audit.services import audit_append
from reachable.core import clock
from reachable.organisations.models import User

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BACKOFF_SECONDS = 60.0  # first retry after a minute, then 2, 4, 8 ... minutes
DEFAULT_BACKOFF_MAX_SECONDS = 6 * 60 * 60.0
DEFAULT_LEASE_SECONDS = 120.0
ERROR_CHARS = 2000
CHUNK = 1000  # notifications per INSERT (4 parameters each)


@dataclass(frozen=True)
class Message:
    """One notification to make: who, and what it says."""

    recipient: User
    subject: str
    body: str


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0  # attempts that failed and will be retried
    gave_up: int = 0  # attempts that failed for the last time
    lost_lease: int = 0  # sent, but another claim had taken the row over meanwhile
    sent_ids: list[int] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.failed += other.failed
        self.gave_up += other.gave_up
        self.lost_lease += other.lost_lease
        self.sent_ids.extend(other.sent_ids)


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def max_attempts() -> int:
    return int(_setting("REACHABLE_EMAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: doubling, capped."""
    base = _setting("REACHABLE_EMAIL_BACKOFF_SECONDS", DEFAULT_BACKOFF_SECONDS)
    cap = _setting("REACHABLE_EMAIL_BACKOFF_MAX_SECONDS", DEFAULT_BACKOFF_MAX_SECONDS)
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


def message_id(outbox_id: int) -> str:
    """The stable Message-ID of an outbox row: the same on every attempt, unique per row."""
    domain = getattr(settings, "REACHABLE_EMAIL_MESSAGE_ID_DOMAIN", "") or (
        str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2] or "reachable.invalid")
    return f"<notification-{outbox_id}@{domain}>"


def notifications_send(messages: Sequence[Message], *, deliver_on_commit: bool | None = None
                       ) -> list[int]:
    """Make many notifications at once, each with its email in the outbox; returns their ids.

    Runs in the caller's transaction. Set-based for the sweep, which may escalate thousands of
    clocks in one batch: one multi-row INSERT of notifications (per chunk) and one
    ``INSERT ... SELECT`` of their outbox rows, instead of two ORM objects per message.
    ``deliver_on_commit`` (default: the setting ``REACHABLE_EMAIL_ON_COMMIT``) tries the emails
    right after commit in this process; the worker delivers whatever that does not.
    """
    if not messages:
        return []
    now = connection.ops.adapt_datetimefield_value(clock.now())
    ids: list[int] = []
    for start in range(0, len(messages), CHUNK):
        chunk = messages[start:start + CHUNK]
        ids.extend(_insert_returning_ids(
            Notification, ["recipient", "subject", "body", "created_at"],
            [(m.recipient.pk, m.subject[:200], m.body, now) for m in chunk]))
        _outbox_for(ids[start:start + len(chunk)])
    if deliver_on_commit is None:
        deliver_on_commit = bool(getattr(settings, "REACHABLE_EMAIL_ON_COMMIT", True))
    if deliver_on_commit and any(m.recipient.email for m in messages):
        transaction.on_commit(lambda: _deliver_quietly(ids))
    return ids


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return connection.ops.quote_name(str(field.column))


def _insert_returning_ids(model: type[Model], fields: list[str],
                          rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """One multi-row INSERT ... RETURNING id (PostgreSQL; SQLite 3.35+), ids in row order."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(_column(model, f) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = ", ".join([one] * len(rows))
    sql = f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        return [row[0] for row in cursor.fetchall()]


def _outbox_for(notification_ids: Sequence[int]) -> None:
    """The outbox rows of these notifications, for recipients with an address (one INSERT)."""
    if not notification_ids:
        return
    q = connection.ops.quote_name
    n, u = q(Notification._meta.db_table), q(User._meta.db_table)
    columns = ", ".join(_column(EmailOutbox, f) for f in (
        "notification", "to", "status", "created_at", "next_attempt_at", "attempts",
        "lease_token", "last_error"))
    created, recipient, email = (_column(Notification, "created_at"),
                                 _column(Notification, "recipient"), _column(User, "email"))
    marks = ", ".join(["%s"] * len(notification_ids))
    sql = (f"INSERT INTO {q(EmailOutbox._meta.db_table)} ({columns}) "  # noqa: S608
           f"SELECT {n}.id, {u}.{email}, %s, {n}.{created}, {n}.{created}, 0, '', '' "
           f"FROM {n} JOIN {u} ON {u}.id = {n}.{recipient} "
           f"WHERE {n}.id IN ({marks}) AND {u}.{email} <> '' ORDER BY {n}.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [EmailStatus.PENDING.value, *notification_ids])


def notification_send(*, recipient: User, subject: str, body: str) -> Notification:
    [pk] = notifications_send([Message(recipient=recipient, subject=subject, body=body)])
    return Notification.objects.get(pk=pk)


def _deliver_quietly(notification_ids: list[int]) -> None:
    """The after-commit fast path: never fails the request that made the notification."""
    ids = list(EmailOutbox.objects.filter(notification_id__in=notification_ids)
               .values_list("pk", flat=True))
    try:
        outbox_deliver(ids=ids, limit=len(ids))
    except Exception:  # the rows stay pending; the worker retries them
        logger.exception("delivering emails %s after commit failed", ids[:10])


def _claimable(now: datetime) -> Q:
    return Q(status=EmailStatus.PENDING, next_attempt_at__lte=now) & (
        Q(leased_until__isnull=True) | Q(leased_until__lte=now))


def outbox_claim(*, limit: int, lease: timedelta | None = None,
                 ids: Iterable[int] | None = None) -> tuple[str, list[EmailOutbox]]:
    """Lease up to ``limit`` due emails to a new claim token (one conditional UPDATE).

    Rows whose lease ran out are claimable again: their holder is presumed dead. The UPDATE
    repeats the claimable condition, so of two workers racing for a row exactly one takes it
    (PostgreSQL re-checks the condition on the row after waiting for the other's lock).
    """
    now = clock.now()
    if lease is None:
        lease = timedelta(seconds=_setting("REACHABLE_EMAIL_LEASE_SECONDS",
                                           DEFAULT_LEASE_SECONDS))
    token = uuid.uuid4().hex
    due = EmailOutbox.objects.filter(_claimable(now))
    if ids is not None:
        due = due.filter(pk__in=list(ids))
    candidates = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    if not candidates:
        return token, []
    with transaction.atomic():
        EmailOutbox.objects.filter(_claimable(now), pk__in=candidates).update(
            lease_token=token, leased_until=now + lease, attempts=F("attempts") + 1)
    claimed = list(EmailOutbox.objects.filter(lease_token=token)
                   .select_related("notification").order_by("pk"))
    return token, claimed


def _mark_sent(row: EmailOutbox, token: str) -> bool:
    with transaction.atomic():
        return bool(EmailOutbox.objects.filter(pk=row.pk, lease_token=token).update(
            status=EmailStatus.SENT, sent_at=clock.now(), leased_until=None, last_error=""))


def _mark_failed(row: EmailOutbox, token: str, error: str) -> str:
    """Record a failed try: back off, or give up after the last attempt. Returns the status."""
    now = clock.now()
    error = error[:ERROR_CHARS]
    with transaction.atomic():
        if row.attempts >= max_attempts():
            won = EmailOutbox.objects.filter(pk=row.pk, lease_token=token).update(
                status=EmailStatus.FAILED, leased_until=None, last_error=error)
            if won:
                # Someone was not told: that belongs in the record, for assurance.
                audit_append(actor=None, action="notification.email_failed",
                             object_type="notification", object_id=row.notification_id,
                             detail={"outbox": row.pk, "attempts": row.attempts,
                                     "error": error[:300]})
                return EmailStatus.FAILED
            return ""
        won = EmailOutbox.objects.filter(pk=row.pk, lease_token=token).update(
            next_attempt_at=now + backoff(row.attempts), leased_until=None, last_error=error)
        return EmailStatus.PENDING if won else ""


def email_message(row: EmailOutbox) -> EmailMessage:
    note = row.notification
    return EmailMessage(subject=note.subject, body=note.body, to=[row.to],
                        headers={"Message-ID": message_id(row.pk)})


def outbox_deliver(*, limit: int = 100, lease: timedelta | None = None,
                   ids: Iterable[int] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """Claim up to ``limit`` due emails, send each through the email backend, mark each.

    Each message is marked straight after it is sent, so a crash re-sends at most the message
    in flight; the others keep their lease until it runs out and are then claimed again.
    """
    report = DeliveryReport()
    token, rows = outbox_claim(limit=limit, lease=lease, ids=ids)
    report.claimed = len(rows)
    if not rows:
        return report
    connection = get_connection(fail_silently=False)
    try:
        for row in rows:
            if should_stop is not None and should_stop():
                break  # the unsent rows' lease runs out and another pass takes them
            try:
                connection.send_messages([email_message(row)])
            except Exception as exc:  # the backend's failure, whatever its kind
                status = _mark_failed(row, token, f"{type(exc).__name__}: {exc}")
                if status == EmailStatus.FAILED:
                    report.gave_up += 1
                    logger.error("gave up emailing notification %s after %s attempts: %s",
                                 row.notification_id, row.attempts, exc)
                elif status == EmailStatus.PENDING:
                    report.failed += 1
                    logger.warning("emailing notification %s failed (attempt %s): %s",
                                   row.notification_id, row.attempts, exc)
                continue
            if _mark_sent(row, token):
                report.sent += 1
                report.sent_ids.append(row.pk)
            else:
                report.lost_lease += 1
                logger.warning("email %s was sent after its lease ran out; it may be sent "
                               "again (same Message-ID %s)", row.pk, message_id(row.pk))
    finally:
        connection.close()
    return report


def outbox_deliver_all(*, batch: int = 100, lease: timedelta | None = None,
                       should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """Deliver due emails batch by batch until none are due (or ``should_stop``)."""
    total = DeliveryReport()
    while should_stop is None or not should_stop():
        report = outbox_deliver(limit=batch, lease=lease, should_stop=should_stop)
        total.add(report)
        if report.claimed == 0:
            break
    return total
