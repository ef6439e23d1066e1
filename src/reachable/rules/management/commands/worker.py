"""``reachable worker``: the sweep and the email outbox, continuously (or ``--once``).

Each pass sweeps the clocks (escalations, breaches, scheduled rules' breach alerts) and then
delivers due emails from the outbox. SIGTERM or SIGINT asks the worker to stop: it finishes
the batch in hand and exits 0. A worker killed outright loses nothing either: every batch is
one transaction and every transition a conditional UPDATE, so a restarted worker (or another
one running at the same time) picks up exactly what was left (decision record 0008).

Each pass prints one JSON line to stdout; errors are logged and the next pass tries again.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from datetime import timedelta
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections

from reachable.access.notifications import outbox_deliver_all
from reachable.core import clock
from reachable.rules.sweep import BATCH, clocks_sweep

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = ("Run the sweep (clock escalations, breaches, scheduled rules) and deliver queued "
            "emails, every --interval seconds until SIGTERM/SIGINT, or once with --once.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=30.0,
                            help="seconds between passes (default 30)")
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument("--batch-size", type=int, default=BATCH,
                            help=f"clocks per sweep transaction (default {BATCH})")
        parser.add_argument("--email-batch", type=int, default=100,
                            help="emails claimed at a time (default 100)")
        parser.add_argument("--lease", type=float, default=None,
                            help="seconds a claim on an email lasts (default: the setting "
                                 "REACHABLE_EMAIL_LEASE_SECONDS, else 120)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] < 0 or options["batch_size"] < 1 or options["email_batch"] < 1:
            raise CommandError("--interval must be >= 0, batch sizes >= 1")
        stop = threading.Event()

        def ask_to_stop(signum: int, frame: FrameType | None) -> None:
            logger.info("worker: signal %s, stopping after the batch in hand", signum)
            stop.set()

        previous = {sig: signal.signal(sig, ask_to_stop)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        lease = timedelta(seconds=options["lease"]) if options["lease"] is not None else None
        try:
            while True:
                self._pass(options, lease, stop)
                if options["once"] or stop.is_set():
                    break
                stop.wait(options["interval"])
                if stop.is_set():
                    break
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            connections.close_all()

    def _pass(self, options: dict[str, Any], lease: timedelta | None,
              stop: threading.Event) -> None:
        close_old_connections()  # a long-lived process: drop connections the server closed
        started = time.perf_counter()
        try:
            sweep = clocks_sweep(batch_size=options["batch_size"], should_stop=stop.is_set)
            mail = outbox_deliver_all(batch=options["email_batch"], lease=lease,
                                      should_stop=stop.is_set)
        except Exception:
            if options["once"]:
                raise
            # A database restart or a bug in one pass must not end the worker: whatever the
            # pass did not commit is still due, and the next pass takes it.
            logger.exception("worker pass failed; retrying after the interval")
            connections.close_all()
            return
        self.stdout.write(json.dumps({
            "at": clock.now().isoformat(),
            "escalated": sweep.escalated, "breached": sweep.breached,
            "alerts": sweep.alerts, "notified": sweep.notified,
            "emails_sent": mail.sent, "emails_failed": mail.failed,
            "emails_gave_up": mail.gave_up,
            "seconds": round(time.perf_counter() - started, 3),
            "stopping": stop.is_set(),
        }))
        self.stdout.flush()
