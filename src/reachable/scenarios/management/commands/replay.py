"""``reachable replay FILE [FILE ...]``: replay scenario files, one JSON report per line.

Exit status: 0 when every expectation is met, 1 when any is not, 2 when a file is invalid.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reachable.scenarios.runner import replay_files


class Command(BaseCommand):
    help = ("Replay scenario files against fresh databases in simulated time and report, as "
            "JSON lines, whether Reachable did what each story expects.")
    # Replays never touch the configured database, so they need no checks of it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")

    def handle(self, *args: Any, **options: Any) -> None:
        status = replay_files(options["files"], out=self.stdout, err=self.stderr,
                              timings=options["verbosity"] >= 2)
        if status:
            raise SystemExit(status)
