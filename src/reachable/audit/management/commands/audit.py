"""``reachable audit verify``: check the hash chain and name the first broken record."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reachable.audit.models import AuditRecord
from reachable.audit.verify import verify_chain


class Command(BaseCommand):
    help = "Audit log tools. 'verify' checks the hash chain end to end."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        from tqdm import tqdm

        bar = tqdm(total=AuditRecord.objects.count(), unit="records", desc="audit verify",
                   file=getattr(self.stderr, "_out", sys.stderr),
                   disable=options["no_progress"])

        def progress(checked: int) -> None:
            bar.update(checked - bar.n)

        try:
            report = verify_chain(progress=progress)
        finally:
            bar.close()
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
