"""``bench_intake``: events through the one door, measured against a bare insert of the rows.

Runs on whatever database is current (the command wraps it in a scratch database). The
service run pushes every event through the batch door (validation, identity, chronology,
rules, audit: the path file import uses) as a multi-agency feed: 500 events a transaction in
the stream's order, each submitted as its own agency's system (``events_submit_feed``). The
baseline writes the same Event rows with ``bulk_create`` and nothing else, a thousand a
transaction, which is the ceiling the service is measured against.

The two are interleaved, a thousand events at a time: the service's two transactions, then
the baseline's one of the same events, each timed on its own. These machines are shared and
their speed drifts by a fifth over minutes; run one after the other, the service and the
baseline were measured at different speeds and the ratio moved with the drift (0.17 to 0.23
in three runs of 100,000 events). Interleaved, both see the same machine. Generating the
stream is timed in neither (its rate is reported). The baseline's rows hang on a person of
their own who has no name, birthday or identifier, so identity never offers them as a
candidate and the rules never read them; they are left out of the people reported.

Events are generated as a stream, so memory is sampled during the run to show it stays flat.
Between chunks the service run refreshes table statistics as the file import does
(``core.statistics``), and after its first it sets aside the heap it started with, as the
file import does too (``core.heap``), both inside its timing.
"""

from __future__ import annotations

import hashlib
import json
import resource
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from django.db import connection, transaction

from reachable.audit.verify import verify_chain
from reachable.bench.synthetic import BENCH_AGENCIES, BENCH_TEAMS, EventStream
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.heap import startup_heap_freeze
from reachable.core.statistics import statistics_refresh
from reachable.intake.services import SubmissionError, events_submit_feed
from reachable.organisations.models import Agency, Role, User
from reachable.organisations.services import agency_create, team_create, user_create
from reachable.people.models import Person
from reachable.rules.models import Alert, Clock

Progress = Callable[[str], None]
BATCH = 500
BASELINE_BATCH = 1000
MEMORY_SAMPLES = 5


def _rss_mb() -> float:
    """Resident set size now (Linux /proc), falling back to the peak where /proc is absent."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return round(pages * resource.getpagesize() / 2**20, 1)
    except OSError:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bench_organisation() -> dict[str, User]:
    """Agencies, the teams alerts route to, and one agency system user per agency."""
    systems: dict[str, User] = {}
    with transaction.atomic():
        agencies: dict[str, Agency] = {}
        for code, name, kind, force in BENCH_AGENCIES:
            agencies[code] = agency_create(actor=None, code=code, name=name, kind=kind,
                                           police_force=force)
        for code, name, kind, agency_code in BENCH_TEAMS:
            team_create(actor=None, code=code, name=name, kind=kind,
                        agency=agencies[agency_code])
        for code, agency in agencies.items():
            systems[code] = user_create(actor=None, username=f"{code}-system", password=None,
                                        role=Role.AGENCY_SYSTEM, agency=agency)
    return systems


def _chunks(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _checkpoints(total: int) -> list[int]:
    return sorted({max(1, total * k // MEMORY_SAMPLES) for k in range(1, MEMORY_SAMPLES + 1)})


def _service_chunk(chunk: list[dict[str, Any]], systems: dict[str, User]
                   ) -> tuple[int, int]:
    """Submit ``chunk`` through the door, ``BATCH`` events a transaction; (accepted, refused)."""
    accepted = refused = 0
    for part in _chunks(iter(chunk), BATCH):
        # In the stream's order, each event submitted as its own agency's system.
        submissions = [(systems[payload["source"]["agency"]], payload) for payload in part]
        for outcome in events_submit_feed(submissions=submissions):
            if isinstance(outcome, SubmissionError):
                refused += 1
            else:
                accepted += 1
        statistics_refresh()  # as the file import does between its batches
        startup_heap_freeze()  # and after its first
    return accepted, refused


def run_service(*, stream: EventStream, events: int, systems: dict[str, User],
                progress: Progress) -> dict[str, Any]:
    """The service alone over ``events`` (the rules benchmark compares two such runs)."""
    return run_interleaved(stream=stream, events=events, systems=systems, progress=progress,
                           baseline=False)


def _row(payload: dict[str, Any], agencies: dict[str, int], person_id: int, now: datetime
         ) -> Event:
    digest = hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()
    return Event(
        person_id=person_id, type=payload["type"],
        occurred_at=datetime.fromisoformat(payload["occurred_at"]), recorded_at=now,
        source_agency_id=agencies[payload["source"]["agency"]],
        source_record="BASE-" + payload["source"]["record"], subject=payload["subject"],
        related=payload.get("related", []), data=payload["data"], payload_hash=digest,
        result={},
    )


def _baseline_chunk(chunk: list[dict[str, Any]], agencies: dict[str, int], person_id: int,
                    now: datetime) -> None:
    """The same events as bare Event rows, bulk-inserted in one transaction."""
    with transaction.atomic():
        Event.objects.bulk_create([_row(p, agencies, person_id, now) for p in chunk])


def _baseline_person(now: datetime) -> int:
    """A person for the baseline's rows to hang on, unreachable by identity (no name, birthday,
    identifier or match profile) and so by the rules; written bare, as the baseline is."""
    return Person.objects.create(given_name="", family_name="", name_key="",
                                 created_at=now).pk


def run_interleaved(*, stream: EventStream, events: int, systems: dict[str, User],
                    progress: Progress, baseline: bool = True) -> dict[str, Any]:
    """Service and baseline over the same events, a thousand at a time, each timed alone
    (the service alone if not ``baseline``)."""
    agencies = dict(Agency.objects.values_list("code", "pk"))
    now = clock.now()
    person_id = _baseline_person(now) if baseline else None
    service_seconds = service_cpu_seconds = baseline_seconds = 0.0
    done = accepted = refused = 0
    samples: list[dict[str, float]] = []
    marks = _checkpoints(events)
    for chunk in _chunks(stream.stream(events), BASELINE_BATCH):
        started, started_cpu = time.perf_counter(), time.process_time()
        chunk_accepted, chunk_refused = _service_chunk(chunk, systems)
        service_seconds += time.perf_counter() - started
        service_cpu_seconds += time.process_time() - started_cpu
        accepted, refused = accepted + chunk_accepted, refused + chunk_refused
        if person_id is not None:
            started = time.perf_counter()
            _baseline_chunk(chunk, agencies, person_id, now)
            baseline_seconds += time.perf_counter() - started
        done += len(chunk)
        if marks and done >= marks[0]:
            while marks and done >= marks[0]:
                marks.pop(0)
            samples.append({"events": done, "rss_mb": _rss_mb()})
            rates = f"{done / service_seconds:.0f}/s"
            if baseline_seconds:
                rates += f"; baseline {done / baseline_seconds:.0f} rows/s"
            progress(f"service: {done}/{events} events ({rates}; rss {_rss_mb()} MB)")
    return {"seconds": service_seconds, "cpu_seconds": service_cpu_seconds,
            "accepted": accepted, "refused": refused,
            "memory": samples, "baseline_seconds": baseline_seconds, "baseline_rows": done,
            "baseline_person": person_id}


def bench_intake(*, events: int, seed: int = 42, progress: Progress | None = None
                 ) -> dict[str, Any]:
    """Run both measurements on the current database and return one flat report."""
    report = progress or (lambda message: None)
    now = clock.now()
    stream = EventStream(seed=seed, today=now.date(), end=now)
    systems = bench_organisation()
    started = time.perf_counter()
    for _ in stream.stream(min(events, 2000)):
        pass
    generate_rate = min(events, 2000) / max(time.perf_counter() - started, 1e-9)
    report(f"service run: {events} events through events_submit_feed, {BATCH} a transaction, "
           f"interleaved with the baseline's bulk_create of the same rows, "
           f"{BASELINE_BATCH} a transaction")
    run = run_interleaved(stream=stream, events=events, systems=systems, progress=report)
    people = Person.objects.exclude(pk=run["baseline_person"]).count()
    alerts = Alert.objects.count()
    clocks = Clock.objects.count()
    report("verifying the audit chain")
    chain = verify_chain()
    events_per_s = events / run["seconds"]
    baseline_rate = run["baseline_rows"] / run["baseline_seconds"]
    return {
        "events": events,
        "seconds": round(run["seconds"], 3),
        "events_per_s": round(events_per_s, 1),
        "accepted": run["accepted"],
        "refused": run["refused"],
        "baseline_rows": run["baseline_rows"],
        "baseline_seconds": round(run["baseline_seconds"], 3),
        "baseline_rate": round(baseline_rate, 1),
        "ratio": round(events_per_s / baseline_rate, 4),
        # This process's own CPU time in the service run; the rest of its wall time it waited
        # for the database. The ratio it would reach were every answer instant is a ceiling
        # on what making the database's work cheaper can give.
        "service_cpu_seconds": round(run["cpu_seconds"], 3),
        "service_waiting_share": round(max(0.0, 1 - run["cpu_seconds"] / run["seconds"]), 3),
        "ratio_without_waiting": round(events / run["cpu_seconds"] / baseline_rate, 4),
        "generate_per_s": round(generate_rate, 1),
        "vendor": connection.vendor,
        "people": people,
        "alerts": alerts,
        "clocks": clocks,
        "audit_chain_intact": chain.intact,
        "audit_records": chain.records,
        "memory": {"samples": run["memory"], "peak_rss_mb": _peak_mb()},
        "seed": seed,
    }
