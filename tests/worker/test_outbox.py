"""The email outbox: written with the notification, delivered by the worker through Django's
email backend with leases, exponential backoff, a last error and a stable Message-ID."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.test import override_settings

from reachable.access.models import EmailOutbox, EmailStatus, Notification
from reachable.access.notifications import (
    message_id,
    notification_send,
    outbox_claim,
    outbox_deliver,
    outbox_deliver_all,
)
from reachable.audit.models import AuditRecord
from reachable.core import clock
from tests.borough import Borough
from tests.worker.backends import DyingBackend, FlakyBackend, ProcessDied
from tests.world import AT

FLAKY = "tests.worker.backends.FlakyBackend"
WORKER_ONLY = {"REACHABLE_EMAIL_ON_COMMIT": False, "REACHABLE_EMAIL_BACKOFF_SECONDS": 60,
               "REACHABLE_EMAIL_BACKOFF_MAX_SECONDS": 3600, "REACHABLE_EMAIL_LEASE_SECONDS": 120}


def _mid(message: EmailMessage) -> str:
    """The Message-ID header as it goes on the wire."""
    return str(message.message()["Message-ID"])


def _send(borough: Borough, role: str = "mash_manager") -> Notification:
    with clock.frozen_at(AT), transaction.atomic():
        return notification_send(recipient=borough.users[role], subject="Escalation: test",
                                 body="A clock is running out.")


def test_the_email_is_written_with_the_notification_or_not_at_all(borough: Borough) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        notification_send(recipient=borough.users["mash_manager"], subject="s", body="b")
        raise RuntimeError("the change being notified about rolls back")
    assert not Notification.objects.exists() and not EmailOutbox.objects.exists()

    with override_settings(**WORKER_ONLY):
        note = _send(borough)
    row = EmailOutbox.objects.get()
    assert row.notification == note
    assert row.to == borough.users["mash_manager"].email
    assert (row.status, row.attempts, row.next_attempt_at) == (EmailStatus.PENDING, 0, AT)


def test_no_address_no_email(borough: Borough) -> None:
    user = borough.users["mash_manager"]
    user.email = ""
    user.save()
    _send(borough)
    assert Notification.objects.count() == 1
    assert not EmailOutbox.objects.exists()


@override_settings(**WORKER_ONLY)
def test_the_worker_delivers_with_a_message_id_derived_from_the_outbox_id(
    borough: Borough, django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _send(borough)
    assert mail.outbox == []  # on-commit delivery is off: the worker's job
    row = EmailOutbox.objects.get()
    with clock.frozen_at(AT + timedelta(seconds=1)):
        report = outbox_deliver_all()
    assert (report.sent, report.failed) == (1, 0)
    [message] = mail.outbox
    assert _mid(message) == message_id(row.pk) == f"<notification-{row.pk}@localhost>"
    assert message.to == [borough.users["mash_manager"].email]
    assert message.subject == "Escalation: test"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.lease_token != "") == (EmailStatus.SENT, 1, True)
    assert row.sent_at == AT + timedelta(seconds=1) and row.leased_until is None
    with clock.frozen_at(AT + timedelta(days=1)):
        assert outbox_deliver_all().claimed == 0  # sent means sent
    assert len(mail.outbox) == 1


@override_settings(EMAIL_BACKEND=FLAKY, **WORKER_ONLY)
def test_refusals_back_off_exponentially_and_keep_the_last_error(borough: Borough) -> None:
    FlakyBackend.reset(failures=2)
    _send(borough)
    row = EmailOutbox.objects.get()
    with clock.frozen_at(AT):
        assert outbox_deliver().failed == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (EmailStatus.PENDING, 1)
    assert row.next_attempt_at == AT + timedelta(seconds=60)
    assert "SMTPServerDisconnected: 421" in row.last_error
    assert row.leased_until is None
    with clock.frozen_at(AT + timedelta(seconds=59)):
        assert outbox_deliver().claimed == 0  # not due yet
    with clock.frozen_at(AT + timedelta(seconds=60)):
        assert outbox_deliver().failed == 1
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at == AT + timedelta(seconds=60 + 120)  # doubled
    with clock.frozen_at(AT + timedelta(seconds=180)):
        assert outbox_deliver().sent == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (EmailStatus.SENT, 3, "")
    assert [_mid(m) for m in FlakyBackend.delivered] == [message_id(row.pk)]
    assert FlakyBackend.refused == 2


@override_settings(EMAIL_BACKEND=FLAKY, REACHABLE_EMAIL_MAX_ATTEMPTS=3, **WORKER_ONLY)
def test_gives_up_after_the_last_attempt_and_records_it(borough: Borough) -> None:
    FlakyBackend.reset(failures=100)
    note = _send(borough)
    moment = AT
    for _ in range(3):
        with clock.frozen_at(moment):
            outbox_deliver()
        moment += timedelta(hours=2)
    row = EmailOutbox.objects.get()
    assert (row.status, row.attempts) == (EmailStatus.FAILED, 3)
    assert "421" in row.last_error
    record = AuditRecord.objects.get(action="notification.email_failed")
    assert record.object_id == str(note.pk)
    assert record.detail["attempts"] == 3
    with clock.frozen_at(moment + timedelta(days=30)):
        assert outbox_deliver().claimed == 0
    assert FlakyBackend.refused == 3 and FlakyBackend.delivered == []


@override_settings(**WORKER_ONLY)
def test_a_lease_keeps_a_claimed_email_from_a_second_claim_until_it_runs_out(
    borough: Borough,
) -> None:
    _send(borough)
    with clock.frozen_at(AT):
        token, [row] = outbox_claim(limit=10)
        assert outbox_claim(limit=10)[1] == []  # the first claim holds it
    with clock.frozen_at(AT + timedelta(seconds=119)):
        assert outbox_claim(limit=10)[1] == []
    with clock.frozen_at(AT + timedelta(seconds=120)):
        other, [again] = outbox_claim(limit=10)  # the holder is presumed dead
    assert other != token and again.pk == row.pk and again.attempts == 2


@override_settings(**WORKER_ONLY)
def test_a_crash_between_sending_and_marking_resends_with_the_same_message_id(
    borough: Borough,
) -> None:
    _send(borough)
    DyingBackend.delivered = []
    with override_settings(EMAIL_BACKEND="tests.worker.backends.DyingBackend"), \
            clock.frozen_at(AT), pytest.raises(ProcessDied):
        outbox_deliver()
    row = EmailOutbox.objects.get()
    assert row.status == EmailStatus.PENDING and row.leased_until is not None
    with clock.frozen_at(AT + timedelta(seconds=60)):
        assert outbox_deliver().claimed == 0  # still leased to the dead worker
    with clock.frozen_at(AT + timedelta(seconds=121)):
        assert outbox_deliver().sent == 1
    [first] = DyingBackend.delivered
    [second] = mail.outbox
    # At least once: the reader's mail system can drop the second by its Message-ID.
    assert _mid(first) == _mid(second) == message_id(row.pk)
    assert Notification.objects.count() == 1


@override_settings(EMAIL_BACKEND=FLAKY, REACHABLE_EMAIL_ON_COMMIT=True,
                   REACHABLE_EMAIL_BACKOFF_SECONDS=60)
def test_a_failed_send_on_commit_is_left_to_the_worker(
    borough: Borough, django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    FlakyBackend.reset(failures=1)
    with clock.frozen_at(AT), django_capture_on_commit_callbacks(execute=True):
        note = _send(borough)  # the request that made it does not see the failure
    row = EmailOutbox.objects.get()
    assert (row.status, row.attempts) == (EmailStatus.PENDING, 1)
    with clock.frozen_at(AT + timedelta(minutes=1)):
        assert outbox_deliver_all().sent == 1
    assert [m.subject for m in FlakyBackend.delivered] == [note.subject]
