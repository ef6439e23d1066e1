"""``bench_rules``: what the rule catalogue costs intake, and what the sweep costs per clock.

Two measurements, each against a baseline taken in the same run, each in fresh scratch
databases (``core.scratch_db``):

(a) **Intake with and without rules.** The same synthetic events (``bench.synthetic``) go
    through ``events_submit_batch`` once with the full catalogue and once with every rule
    switched off (``REACHABLE_RULES_DISABLED`` = all rule ids); runs alternate, the best of
    each is kept. Target: the catalogue costs at most 30 % of intake throughput.
(b) **The sweep over many open clocks.** ``clocks`` open clocks are bulk-inserted (setup, not
    timed); the sweep runs once with all of them due and once with ~1 % due, half escalating
    (each emails the team manager through the outbox) and half breaching. The baseline is a
    bare query loading the same due clocks. Target: sweep <= 5 x the bare query. Emails are
    delivered afterwards by the worker's path (``outbox_deliver_all``, locmem backend) and
    timed separately: delivery is asynchronous by design.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.core import mail
from django.db import connection, transaction
from django.db.models import Q
from django.test.utils import override_settings

from reachable.access.models import EmailOutbox, EmailStatus, Notification
from reachable.access.notifications import outbox_deliver_all
from reachable.audit.models import AuditRecord
from reachable.audit.verify import verify_chain
from reachable.bench.intake import bench_organisation, run_service
from reachable.bench.synthetic import EventStream
from reachable.chronology.models import Event
from reachable.core import clock
from reachable.core.scratch_db import scratch_database
from reachable.organisations.models import Agency, Role, Team, TeamKind
from reachable.organisations.services import user_create
from reachable.people.models import Person
from reachable.rules.calendar import ClockUnit
from reachable.rules.models import Alert, Clock, ClockStatus
from reachable.rules.registry import all_rules
from reachable.rules.sweep import clocks_sweep, due_for_breach, due_for_escalation

Progress = Callable[[str], None]
INTAKE_TARGET = 0.30  # the catalogue may cost at most this share of intake throughput
SWEEP_TARGET = 5.0  # the sweep may take at most this many times the bare query
CLOCK_RULE = "golden-hour"  # an alert with a clock whose escalation tells the MASH manager
PEOPLE = 1000
INSERT_BATCH = 5000


@contextmanager
def _quiet_scratch(progress: Progress) -> Iterator[None]:
    with scratch_database() as name:
        progress(f"scratch database {name}")
        yield


# --- (a) intake with and without the catalogue ----------------------------------------------


def all_rule_ids() -> list[str]:
    with override_settings(REACHABLE_RULES_DISABLED=[]):
        return sorted(r.id for r in all_rules())


def intake_run(*, events: int, seed: int, rules: bool, progress: Progress) -> dict[str, Any]:
    """One run of ``events`` synthetic events through intake, in its own scratch database."""
    disabled = [] if rules else all_rule_ids()
    with override_settings(REACHABLE_RULES_DISABLED=disabled), _quiet_scratch(progress):
        now = clock.now()
        stream = EventStream(seed=seed, today=now.date(), end=now)
        systems = bench_organisation()
        result = run_service(stream=stream, events=events, systems=systems, progress=progress)
        return {"events_per_s": events / result["seconds"], "seconds": result["seconds"],
                "accepted": result["accepted"], "alerts": Alert.objects.count(),
                "clocks": Clock.objects.count()}


def bench_intake_rules(*, events: int, seed: int, repeats: int, progress: Progress
                       ) -> dict[str, Any]:
    progress("intake warm-up (not timed)")
    intake_run(events=min(events, 100), seed=seed + 1, rules=True, progress=progress)
    runs: dict[str, list[dict[str, Any]]] = {"no_rules": [], "full": []}
    for index in range(repeats):
        # Alternate the order so drift in the machine's load falls on both sides.
        order = ("no_rules", "full") if index % 2 == 0 else ("full", "no_rules")
        for mode in order:
            progress(f"intake {mode} run {index + 1}/{repeats}: {events} events")
            runs[mode].append(intake_run(events=events, seed=seed, rules=mode == "full",
                                         progress=progress))
    # Rounded first, so the printed cost is exactly what the printed rates give.
    best = {mode: round(max(r["events_per_s"] for r in rs), 1) for mode, rs in runs.items()}
    cost = 1 - best["full"] / best["no_rules"]
    return {
        "events": events,
        "rules": len(all_rule_ids()),
        "no_rules_events_per_s": round(best["no_rules"], 1),
        "full_events_per_s": round(best["full"], 1),
        "runs_events_per_s": {m: [round(r["events_per_s"], 1) for r in rs]
                              for m, rs in runs.items()},
        "alerts_full": runs["full"][0]["alerts"],
        "clocks_full": runs["full"][0]["clocks"],
        "alerts_no_rules": runs["no_rules"][0]["alerts"],
        "cost": round(cost, 4),
        "target_cost": INTAKE_TARGET,
        "meets_target": cost <= INTAKE_TARGET,
    }


# --- (b) the sweep over many clocks ---------------------------------------------------------


def _setup_world(now: datetime) -> tuple[Agency, Team, list[int], list[int], list[int]]:
    """A MASH with a manager, people, one custody event and golden-hour alert per person."""
    with transaction.atomic():
        bench_organisation()
        mash = Team.objects.get(kind=TeamKind.MASH)
        user_create(actor=None, username="bench-mash-manager", password=None,
                    role=Role.MASH_MANAGER, agency=mash.agency, team=mash,
                    email="mash.manager@bench.invalid", manages_team=True)
        police = Agency.objects.get(code="met-police")
        people = Person.objects.bulk_create([
            Person(given_name=f"Bench{i}", family_name="Child", name_key=f"child bench{i}",
                   created_at=now) for i in range(PEOPLE)])
        events = Event.objects.bulk_create([
            Event(person=p, type="custody.booked", occurred_at=now, recorded_at=now,
                  source_agency=police, source_record=f"SWEEP-{p.pk}", subject={}, data={},
                  payload_hash="0" * 64, result={}) for p in people])
        alerts = Alert.objects.bulk_create([
            Alert(rule_id=CLOCK_RULE, person=e.person, event=e, team=mash, route="mash",
                  severity="red", summary="Booked into custody (bench)", raised_at=now)
            for e in events])
    return (police, mash, [p.pk for p in people], [e.pk for e in events],
            [a.pk for a in alerts])


def clocks_populate(*, count: int, due_share: float, moment: datetime,
                    rule_id: str = CLOCK_RULE, progress: Progress | None = None
                    ) -> dict[str, int]:
    """``count`` open clocks, a ``due_share`` of them due at ``moment``: half of the due ones
    past 75 % (escalation), half past the deadline (breach); the rest far from either.

    Bulk-inserted: this is the set-up of a measurement, not a path the platform takes.
    """
    _, _, people, events, alerts = _setup_world(moment)
    step = max(1, round(1 / due_share)) if due_share > 0 else 0
    kinds = {"escalate": 0, "breach": 0, "later": 0}
    hour = timedelta(hours=1)
    shapes = {  # started, deadline, escalate_at relative to the moment
        "escalate": (-3 * hour, hour, -hour / 2),
        "breach": (-2 * hour, -hour, -hour * 5 / 4),
        "later": (-hour / 6, 2 * hour, hour + hour / 4),
    }
    pending: list[Clock] = []
    for i in range(count):
        if step and i % step == 0:
            kind = "escalate" if (i // step) % 2 == 0 else "breach"
        else:
            kind = "later"
        kinds[kind] += 1
        start, deadline, escalate = shapes[kind]
        k = i % len(people)
        pending.append(Clock(
            rule_id=rule_id, person_id=people[k], alert_id=alerts[k], event_id=events[k],
            key=f"bench-{i}", unit=ClockUnit.CLOCK_HOURS.value, amount=1.0,
            started_at=moment + start, deadline=moment + deadline,
            escalate_at=moment + escalate, status=ClockStatus.OPEN))
        if len(pending) >= INSERT_BATCH:
            with transaction.atomic():
                Clock.objects.bulk_create(pending)
            pending = []
            if progress is not None and (i + 1) % (INSERT_BATCH * 10) == 0:
                progress(f"clocks: {i + 1}/{count} inserted")
    if pending:
        with transaction.atomic():
            Clock.objects.bulk_create(pending)
    return kinds


def _due(moment: datetime) -> Q:
    return (Q(status=ClockStatus.OPEN, escalated_at__isnull=True, escalate_at__lte=moment,
              deadline__gt=moment)
            | Q(status=ClockStatus.OPEN, deadline__lte=moment))


def _best_of(times: int, func: Callable[[], int]) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(times):
        started = time.perf_counter()
        rows = func()
        best = min(best, time.perf_counter() - started)
    return best, rows


def sweep_run(*, clocks: int, due_share: float, batch_size: int, progress: Progress
              ) -> dict[str, Any]:
    """Populate, time the bare query (best of 3), then the sweep (once), in a scratch db."""
    with _quiet_scratch(progress):
        moment = clock.now()
        progress(f"sweep ({due_share:.0%} due): inserting {clocks} clocks")
        kinds = clocks_populate(count=clocks, due_share=due_share, moment=moment,
                                progress=progress)
        # Planner statistics, as autovacuum keeps them on a live database: without them a
        # freshly bulk-loaded table is planned as if it were empty.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Clock._meta.db_table)}")
        due_ids = set(due_for_escalation(moment).values_list("pk", flat=True)) | set(
            due_for_breach(moment).values_list("pk", flat=True))
        bare, bare_rows = _best_of(3, lambda: len(list(Clock.objects.filter(_due(moment)))))
        bare_ids, _ = _best_of(3, lambda: len(list(
            Clock.objects.filter(_due(moment)).values_list("pk", flat=True))))
        audit_before = AuditRecord.objects.count()
        progress(f"sweep ({due_share:.0%} due): sweeping {len(due_ids)} due clocks")
        started = time.perf_counter()
        with override_settings(REACHABLE_EMAIL_ON_COMMIT=False):
            report = clocks_sweep(now=moment, batch_size=batch_size)
        swept = time.perf_counter() - started
        again = clocks_sweep(now=moment)  # a second sweep finds nothing left to do
        emails = EmailOutbox.objects.filter(status=EmailStatus.PENDING).count()
        progress(f"sweep ({due_share:.0%} due): delivering {emails} emails (locmem)")
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            started = time.perf_counter()
            delivery = outbox_deliver_all(batch=500)
            delivered = time.perf_counter() - started
            mail.outbox = []
        chain = verify_chain()
        transitions = report.escalated + report.breached
        return {
            "clocks": clocks,
            "due": len(due_ids),
            "due_escalation": kinds["escalate"],
            "due_breach": kinds["breach"],
            "bare_query_rows": bare_rows,
            "bare_query_seconds": round(bare, 4),
            "bare_ids_query_seconds": round(bare_ids, 4),
            "sweep_seconds": round(swept, 4),
            "ratio": round(swept / bare, 2),
            "ratio_vs_ids_query": round(swept / bare_ids, 2),
            "meets_target": swept <= SWEEP_TARGET * bare,
            "escalated": report.escalated,
            "breached": report.breached,
            "notifications": Notification.objects.count(),
            "audit_records": AuditRecord.objects.count() - audit_before,
            "transitions_per_s": round(transitions / swept, 1) if swept else None,
            "second_sweep_transitions": again.escalated + again.breached,
            "emails_delivered": delivery.sent,
            "emails_per_s": round(delivery.sent / delivered, 1) if delivered else None,
            "audit_chain_intact": chain.intact,
        }


def bench_rules(*, events: int, clocks: int, seed: int = 42, repeats: int = 2,
                batch_size: int = 2000, due_shares: tuple[float, ...] = (1.0, 0.01),
                progress: Progress | None = None) -> dict[str, Any]:
    """Run both measurements and return one report."""
    report = progress or (lambda message: None)
    intake = bench_intake_rules(events=events, seed=seed, repeats=repeats, progress=report)
    sweeps = {f"due_{round(share * 100)}pct": sweep_run(clocks=clocks, due_share=share,
                                                        batch_size=batch_size,
                                                        progress=report)
              for share in due_shares}
    return {
        "vendor": connection.vendor,
        "intake": intake,
        "sweep": {"batch_size": batch_size, "target_ratio": SWEEP_TARGET, **sweeps},
        "meets_targets": intake["meets_target"] and all(s["meets_target"]
                                                        for s in sweeps.values()),
        "seed": seed,
    }


def add_rules_parser(sub: Any) -> None:
    """The ``rules`` subcommand's options (kept here so ``bench.py`` needs two lines)."""
    rules = sub.add_parser("rules", help="intake with vs without the rule catalogue; the sweep "
                                         "over many clocks vs a bare query")
    rules.add_argument("--events", type=int, default=2000,
                       help="synthetic events per intake run (default 2000)")
    rules.add_argument("--clocks", type=int, default=100_000,
                       help="open clocks for the sweep (default 100000)")
    rules.add_argument("--repeats", type=int, default=2,
                       help="intake runs per mode, alternating (default 2)")
    rules.add_argument("--batch-size", type=int, default=2000,
                       help="clocks per sweep transaction (default 2000)")
    rules.add_argument("--seed", type=int, default=42, help="random seed (default 42)")


def run_rules_command(options: dict[str, Any], progress: Progress) -> dict[str, Any]:
    if options["events"] < 1 or options["clocks"] < 1 or options["repeats"] < 1:
        raise ValueError("--events, --clocks and --repeats must be at least 1")
    # DEBUG would keep every query in memory and slow the run; not wanted here.
    with override_settings(DEBUG=False):
        return bench_rules(events=options["events"], clocks=options["clocks"],
                           seed=options["seed"], repeats=options["repeats"],
                           batch_size=options["batch_size"], progress=progress)
