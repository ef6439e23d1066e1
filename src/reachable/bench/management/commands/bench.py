"""``reachable bench intake --events N``: throughput of the one door, as one JSON object.

Always runs in a scratch database (``core.scratch_db``), never the configured one: a benchmark
writes many thousands of audit records, which PostgreSQL will never let anyone delete.
Subcommands leave room for later benchmarks (rules, linkage).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.test.utils import override_settings

from reachable.bench.intake import bench_intake
from reachable.bench.linkage import ENTRIES, bench_linkage
from reachable.bench.rules import add_rules_parser, run_rules_command
from reachable.core.scratch_db import scratch_database


class Command(BaseCommand):
    help = "Benchmarks, each in a throwaway database. 'intake' pushes synthetic events."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="benchmark", required=True)
        intake = sub.add_parser("intake", help="events through the intake service vs bulk insert")
        intake.add_argument("--events", type=int, default=10_000,
                            help="number of synthetic events (default 10000)")
        intake.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        linkage = sub.add_parser("linkage", help="identity resolution vs plain Splink")
        linkage.add_argument("--only", choices=ENTRIES, help="run one entry")
        linkage.add_argument("--size", action="append", default=[], metavar="NAME=N",
                             help="shrink an entry (tests), e.g. synthetic-10k=500")
        add_rules_parser(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(message: str) -> None:
            self.stderr.write(f"bench: {message}")
            self.stderr.flush()

        if options["benchmark"] == "rules":
            with override_settings(DEBUG=False):  # as in production: no query log
                self.stdout.write(json.dumps(run_rules_command(options, progress)))
            return
        if options["benchmark"] == "linkage":
            sizes = {}
            for item in options["size"]:
                name, _, value = item.partition("=")
                sizes[name] = int(value)
            self.stdout.write(json.dumps(bench_linkage(only=options["only"], sizes=sizes,
                                                       progress=progress)))
            return
        if options["benchmark"] == "intake":
            if options["events"] < 1:
                raise ValueError("--events must be at least 1")
            # DEBUG would keep every query in memory and slow the run; not wanted here.
            with override_settings(DEBUG=False), scratch_database() as name:
                progress(f"scratch database {name}")
                report = bench_intake(events=options["events"], seed=options["seed"],
                                      progress=progress)
            self.stdout.write(json.dumps(report))
