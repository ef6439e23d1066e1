"""Agency event files: one agency's events, one JSON envelope per line, through the batch door.

An agency that sends its day's events as a file (a custody suite's overnight extract, a
school's attendance feed) goes through exactly what the API does, in batches: every line is an
envelope from ``events.md``, handed to ``events_submit_batch`` as the agency's system account,
so it is validated, resolved, appended, evaluated and audited as if it had been posted. Each
batch is one transaction; a file cut short (a crash, Ctrl-C) leaves whole batches behind, and
running the same file again accepts only what is missing, because intake is idempotent on the
agency's record ids. A line that cannot be read or is refused is reported with its line number
and reason and the rest go in: the same answers the API would give, one per line. Between
batches the tables' statistics are refreshed where they have grown out of date
(``core.statistics``), so a large file into a young database does not slow as it goes, and
after the first the heap the process started with is set aside from garbage collection
(``core.heap``), whose full collections otherwise walk every library object again and again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings

from reachable.core.errors import ValidationFailed
from reachable.core.heap import startup_heap_freeze
from reachable.core.statistics import statistics_refresh
from reachable.intake.services import SubmissionError, events_submit_batch
from reachable.organisations.models import Role, User

BATCH_SIZE = 500
LISTED_REFUSALS = 1000  # refusals listed in a summary; the count is always complete


@dataclass(frozen=True)
class Refusal:
    line: int
    kind: str  # "unreadable", "invalid", "conflict" or "forbidden"
    errors: dict[str, Any]


@dataclass
class ImportSummary:
    file: str
    agency: str
    lines: int = 0  # envelopes read (blank lines are not counted)
    accepted: int = 0  # new events
    already_accepted: int = 0  # the same record id with the same content: nothing written
    refused: int = 0
    alerts: int = 0
    clocks: int = 0
    seconds: float = 0.0
    refusals: list[Refusal] = field(default_factory=list)

    def refuse(self, refusal: Refusal) -> None:
        self.refused += 1
        if len(self.refusals) < LISTED_REFUSALS:
            self.refusals.append(refusal)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "agency": self.agency, "lines": self.lines,
            "accepted": self.accepted, "already_accepted": self.already_accepted,
            "refused": self.refused, "alerts": self.alerts, "clocks": self.clocks,
            "seconds": round(self.seconds, 3),
            "refusals": [{"line": r.line, "kind": r.kind, "errors": r.errors}
                         for r in self.refusals],
            "refusals_not_listed": self.refused - len(self.refusals),
        }


@dataclass(frozen=True)
class _Unreadable:
    reason: str


def envelope_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON or why it could not be read) for every non-blank line.

    Read as bytes and decoded line by line, so one badly encoded line is reported on its own
    instead of ending the file; a line longer than the API's body limit is refused unread.
    """
    limit = settings.REACHABLE_MAX_EVENT_BYTES
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a byte-order mark some exports put first
            line = raw.strip()
            if not line:
                continue
            if len(line) > limit:
                yield number, _Unreadable(f"Line is {len(line)} bytes; an event may be at most "
                                          f"{limit}.")
                continue
            try:
                yield number, json.loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                yield number, _Unreadable("Line is not UTF-8 text.")
            except json.JSONDecodeError as exc:
                yield number, _Unreadable(f"Line is not JSON: {exc.msg} at column {exc.colno}.")


def agency_system_account(code: str) -> User:
    """The agency's active system account: who a file from that agency is submitted as."""
    account = (User.objects.filter(agency__code=code, role=Role.AGENCY_SYSTEM, is_active=True)
               .select_related("agency").order_by("pk").first())
    if account is None:
        raise ValidationFailed({"agency": [
            f"Agency '{code}' has no active agency system account to submit its events."]})
    return account


def events_import_file(path: Path | str, *, actor: User, batch_size: int = BATCH_SIZE,
                       progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Submit every envelope in ``path`` as ``actor``, ``batch_size`` to a transaction.

    ``progress`` is told how many lines have been read after each batch. Raises
    ``FileNotFoundError`` for a missing file and ``ValueError`` for a batch size below one;
    everything about single lines is in the summary.
    """
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    summary = ImportSummary(file=path.name, agency=actor.agency.code if actor.agency else "")
    started = time.perf_counter()
    lines = envelope_lines(path)
    while chunk := list(islice(lines, batch_size)):
        summary.lines += len(chunk)
        refusals = [Refusal(number, "unreadable", {"non_field_errors": [payload.reason]})
                    for number, payload in chunk if isinstance(payload, _Unreadable)]
        readable = [(number, payload) for number, payload in chunk
                    if not isinstance(payload, _Unreadable)]
        outcomes = (events_submit_batch(actor=actor, payloads=[p for _, p in readable])
                    if readable else [])
        for (number, _), outcome in zip(readable, outcomes, strict=True):
            if isinstance(outcome, SubmissionError):
                refusals.append(Refusal(number, outcome.kind, outcome.errors))
            elif outcome.created:
                summary.accepted += 1
                summary.alerts += len(outcome.result.get("alerts", ()))
                summary.clocks += len(outcome.result.get("clocks", ()))
            else:
                summary.already_accepted += 1
        for refusal in sorted(refusals, key=lambda r: r.line):
            summary.refuse(refusal)
        statistics_refresh()
        startup_heap_freeze()  # after the first batch, everything it needs is loaded
        if progress is not None:
            progress(summary.lines)
    summary.seconds = time.perf_counter() - started
    return summary
