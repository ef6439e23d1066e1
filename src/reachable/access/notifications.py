"""Telling professionals: an in-app notification row, and an email sent once the transaction
commits (so nobody is emailed about something that was rolled back)."""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.db import transaction

from reachable.access.models import Notification
from reachable.core import clock
from reachable.organisations.models import User

logger = logging.getLogger(__name__)


def notification_send(*, recipient: User, subject: str, body: str) -> Notification:
    note = Notification.objects.create(
        recipient=recipient, subject=subject, body=body, created_at=clock.now()
    )
    if recipient.email:
        def _email() -> None:
            try:
                send_mail(subject, body, None, [recipient.email])
            except OSError:
                # The in-app notification stands; mail delivery is retried by the worker (later).
                logger.exception("email to %s failed", recipient.pk)

        transaction.on_commit(_email)
    return note
