"""``reachable demo``: generate the synthetic borough and print how to sign in."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.test.utils import override_settings

from reachable.demo.generator import DemoResult, demo_generate


class Command(BaseCommand):
    help = "Generate a deterministic synthetic borough (never real people) and print logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--children", type=int, default=5000,
                            help="number of children (default 5000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--months", type=int, default=6,
                            help="months of events, ending now (default 6)")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(message: str) -> None:
            sys.stderr.write(f"demo: {message}\n")
            sys.stderr.flush()

        # Query logging (DEBUG) costs ~15 % on tens of thousands of submissions and is not
        # needed to build data.
        with override_settings(DEBUG=False):
            result = demo_generate(children=options["children"], seed=options["seed"],
                                   months=options["months"], progress=progress)
        self.stdout.write(render(result, database=connection.settings_dict.get("NAME")))


def render(result: DemoResult, *, database: object = None) -> str:
    lines: list[str] = []
    if result.created:
        lines.append(f"Synthetic borough generated (seed {result.seed}, "
                     f"{result.children} children) in {result.elapsed:.1f} s.")
    else:
        lines += [
            "A demo borough already exists in this database; nothing was generated.",
            f"To start again, delete the database ({database or 'var/reachable.sqlite3'}; "
            "for the embedded default: rm var/reachable.sqlite3), then run "
            "`reachable migrate` and `reachable demo`.",
        ]
    lines += ["", "Demo logins (every password: " + result.password + ")", ""]
    width_role = max(len(login.role) for login in result.logins) if result.logins else 10
    width_user = max(len(login.username) for login in result.logins) if result.logins else 10
    lines.append(f"  {'Role':<{width_role}}  {'Username':<{width_user}}  Team (agency)")
    for login in result.logins:
        where = f"{login.team} ({login.agency})"
        if login.role.startswith("Agency system"):
            where = f"API only: use the token below ({login.agency})"
        lines.append(f"  {login.role:<{width_role}}  {login.username:<{width_user}}  {where}")
    lines += ["", "Police API token (shown once; only its hash is stored):",
              f"  {result.police_token}", "", "Push a custody booking as the police system:",
              "", result.curl, "", "Counts:"]
    lines += [f"  {name.replace('_', ' ')}: {value}" for name, value in result.counts.items()]
    lines += ["", f"Elapsed: {result.elapsed:.1f} s", ""]
    return "\n".join(lines)
