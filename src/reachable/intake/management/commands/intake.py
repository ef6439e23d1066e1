"""``reachable intake FILE --agency CODE``: an agency's event file through the intake door.

One JSON envelope per line (``events.md``), submitted as the agency's system account in
batches, each one transaction. Progress on stderr; the summary as one JSON object on stdout,
refused lines listed with their line number, kind and field messages. Running a file again
accepts only what is not in yet. The exit status is 0 when every line went in (or was in
already) and 1, with a CommandError naming the count, when any was refused, so a scheduler
notices.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reachable.core.errors import ValidationFailed
from reachable.intake.files import BATCH_SIZE, agency_system_account, events_import_file


class Command(BaseCommand):
    help = "Submit an agency's event file (one JSON envelope per line) through intake."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the events file: one JSON envelope per line")
        parser.add_argument("--agency", required=True,
                            help="the code of the agency the file comes from")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                            help=f"events per transaction (default {BATCH_SIZE})")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        from tqdm import tqdm

        try:
            actor = agency_system_account(options["agency"])
        except ValidationFailed as exc:
            raise CommandError(" ".join(exc.errors["agency"])) from exc
        bar = tqdm(total=None, unit="events", desc=f"intake {options['file']}",
                   file=getattr(self.stderr, "_out", sys.stderr),
                   disable=options["no_progress"])
        read = 0

        def progress(lines: int) -> None:
            nonlocal read
            bar.update(lines - read)
            read = lines

        try:
            summary = events_import_file(options["file"], actor=actor,
                                         batch_size=options["batch_size"], progress=progress)
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.stdout.write(json.dumps(summary.as_dict()))
        if summary.refused:
            raise CommandError(f"{summary.refused} of {summary.lines} lines refused "
                               "(listed in the summary)")
