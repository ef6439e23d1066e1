"""``reachable sweep``: escalate and breach clocks that are due (cron-safe, concurrency-safe),
then deliver the emails that are due from the outbox (the escalations' among them).

``reachable worker`` does the same continuously; this is one pass, for cron or by hand."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from reachable.access.notifications import outbox_deliver_all
from reachable.rules.sweep import clocks_sweep


class Command(BaseCommand):
    help = ("Escalate clocks at 75% elapsed, mark overdue clocks breached, and send the "
            "emails that are due.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = clocks_sweep()
        mail = outbox_deliver_all()
        self.stdout.write(json.dumps({"escalated": report.escalated, "breached": report.breached,
                                      "notified": report.notified, "emails_sent": mail.sent,
                                      "emails_failed": mail.failed}))
