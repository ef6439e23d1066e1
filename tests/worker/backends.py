"""Email backends standing in for mail servers in tests (not mocks of our code).

``FlakyBackend`` is an SMTP server that refuses the first N messages; ``DyingBackend`` is one
that accepts a message and then the sending process dies before it can record the fact.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import ClassVar

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class FlakyBackend(BaseEmailBackend):
    failures_left: ClassVar[int] = 0
    delivered: ClassVar[list[EmailMessage]] = []
    refused: ClassVar[int] = 0

    @classmethod
    def reset(cls, failures: int) -> None:
        cls.failures_left = failures
        cls.delivered = []
        cls.refused = 0

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            if FlakyBackend.failures_left > 0:
                FlakyBackend.failures_left -= 1
                FlakyBackend.refused += 1
                raise smtplib.SMTPServerDisconnected("421 try again later")
            message.message()  # render it, as a real backend would
            FlakyBackend.delivered.append(message)
        return len(email_messages)


class ProcessDied(BaseException):
    """Not an Exception: nothing in the sending code may catch it, as nothing survives a kill."""


class DyingBackend(BaseEmailBackend):
    delivered: ClassVar[list[EmailMessage]] = []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        DyingBackend.delivered.extend(email_messages)  # the server has it...
        raise ProcessDied("killed between sending and marking the row sent")
