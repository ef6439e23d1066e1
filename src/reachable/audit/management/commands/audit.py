"""``reachable audit verify``: check the hash chain and name the first broken record."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reachable.audit.verify import verify_chain


class Command(BaseCommand):
    help = "Audit log tools. 'verify' checks the hash chain end to end."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if options["json"]:
            self.stdout.write(json.dumps(report.__dict__))
        elif report.intact:
            self.stdout.write(f"Audit chain intact: {report.records} records verified.")
        else:
            self.stdout.write(
                f"Audit chain BROKEN at record {report.first_broken_id}: {report.reason}. "
                f"{report.records} records before it verified."
            )
        if not report.intact:
            raise CommandError("audit chain broken", returncode=1)
