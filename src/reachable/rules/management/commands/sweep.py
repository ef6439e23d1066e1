"""``reachable sweep``: escalate and breach clocks that are due (cron-safe, concurrency-safe)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from reachable.rules.sweep import clocks_sweep


class Command(BaseCommand):
    help = "Escalate clocks at 75% elapsed and mark overdue clocks breached."

    def handle(self, *args: Any, **options: Any) -> None:
        report = clocks_sweep()
        self.stdout.write(json.dumps({"escalated": report.escalated, "breached": report.breached}))
