"""Workers racing for the outbox on PostgreSQL: threads with their own connections claim at
the same moment; each email is sent by exactly one of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import override_settings

from reachable.access.models import EmailOutbox, EmailStatus
from reachable.access.notifications import Message, message_id, notifications_send, outbox_deliver
from reachable.core import clock
from tests.borough import build_borough
from tests.rules.test_concurrency_pg import race
from tests.world import AT


@pytest.fixture
def pg(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (SQLite serialises all writers)")


@override_settings(REACHABLE_EMAIL_ON_COMMIT=False)
def test_racing_workers_send_each_email_once(pg: None) -> None:
    manager = build_borough().users["mash_manager"]
    with clock.frozen_at(AT), transaction.atomic():
        notifications_send([Message(recipient=manager, subject=f"Escalation {i}", body="b")
                            for i in range(60)])

    def deliver() -> int:
        with clock.frozen_at(AT + timedelta(seconds=1)):
            sent = 0
            while (report := outbox_deliver(limit=5)).claimed:
                sent += report.sent
            return sent

    results = race(deliver)
    assert sum(results) == 60
    sent = [str(m.message()["Message-ID"]) for m in mail.outbox]
    assert sorted(sent) == sorted(message_id(pk) for pk in
                                  EmailOutbox.objects.values_list("pk", flat=True))
    assert len(set(sent)) == 60  # nobody sent a row another worker held
    assert EmailOutbox.objects.filter(status=EmailStatus.SENT, attempts=1).count() == 60
