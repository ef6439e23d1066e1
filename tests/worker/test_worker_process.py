"""``reachable worker`` as a real process: one pass, clean shutdown on SIGTERM, a worker
killed mid-run and restarted, and two workers at once. Each runs against a scratch database
(file SQLite or a PostgreSQL database), emails go to files, and the test then checks that
every due clock changed state exactly once, with exactly one audit record, named in exactly
one escalation notification (a digest per manager per batch), and that every email arrived
(by Message-ID) despite the kills."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reachable.access.models import EmailOutbox, EmailStatus, Notification
from reachable.access.notifications import message_id
from reachable.audit.models import AuditRecord
from reachable.audit.verify import verify_chain
from reachable.bench.rules import clocks_populate
from reachable.core import clock
from reachable.core.scratch_db import scratch_database
from reachable.rules.models import Clock, ClockStatus
from tests.worker.process import finish, message_ids, start_worker, wait_until

CLOCKS = 4000  # half due for escalation (a digest email per batch of 25), half overdue
SMALL = ("--batch-size", "50", "--email-batch", "20")


@pytest.fixture
def scratch(db: None) -> Iterator[str]:
    with scratch_database() as name:
        yield name


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


def _transitions() -> int:
    return (Clock.objects.filter(escalated_at__isnull=False).count()
            + Clock.objects.filter(status=ClockStatus.BREACHED).count())


def _assert_exactly_once(kinds: dict[str, int], mail_dir: Path, *, duplicates_allowed: int
                         ) -> None:
    escalations, breaches = kinds["escalate"], kinds["breach"]
    assert Clock.objects.filter(escalated_at__isnull=False, status=ClockStatus.OPEN).count() \
        == escalations
    assert Clock.objects.filter(status=ClockStatus.BREACHED, escalated_at__isnull=True,
                                breached_at__isnull=False).count() == breaches
    assert not Clock.objects.filter(status=ClockStatus.OPEN, escalated_at__isnull=True).exists()
    for action, count in (("clock.escalated", escalations), ("clock.breached", breaches)):
        records = AuditRecord.objects.filter(action=action)
        assert records.count() == count
        assert records.values("object_id").distinct().count() == count  # one per clock
    named = Counter(line.split(" on ")[1].split(":")[0]
                    for body in Notification.objects.values_list("body", flat=True)
                    for line in body.splitlines() if " on P-" in line)
    escalated = Clock.objects.filter(escalated_at__isnull=False).select_related("person")
    assert sum(named.values()) == escalations  # each escalated clock named once
    assert set(named) == {c.person.ref for c in escalated}
    notifications = Notification.objects.count()
    assert 0 < notifications < escalations  # digests, not one email per clock
    assert EmailOutbox.objects.filter(status=EmailStatus.SENT).count() == notifications
    sent = message_ids(mail_dir)
    assert set(sent) == {message_id(pk) for pk in EmailOutbox.objects.values_list("pk",
                                                                                flat=True)}
    assert sum(sent.values()) - len(sent) <= duplicates_allowed  # at least once, not lost
    assert verify_chain().intact


def test_one_pass_sweeps_and_delivers(scratch: str, mail_dir: Path) -> None:
    kinds = clocks_populate(count=200, due_share=1.0, moment=clock.now())
    out = finish(start_worker(scratch, mail_dir, "--once"))
    [line] = out.splitlines()
    report = json.loads(line)
    assert (report["escalated"], report["breached"]) == (100, 100)
    assert report["notified"] == report["emails_sent"] == 1  # one digest for the one batch
    assert report["emails_failed"] == 0
    _assert_exactly_once(kinds, mail_dir, duplicates_allowed=0)


def test_sigterm_stops_after_the_batch_in_hand_and_a_restart_finishes(scratch: str,
                                                                    mail_dir: Path) -> None:
    kinds = clocks_populate(count=CLOCKS, due_share=1.0, moment=clock.now())
    worker = start_worker(scratch, mail_dir, *SMALL, "--interval", "30")
    wait_until(lambda: _transitions() > 0, process=worker)
    worker.send_signal(signal.SIGTERM)
    started = time.monotonic()
    lines = finish(worker, timeout=30).splitlines()
    assert time.monotonic() - started < 20  # did not wait for the 30-second interval
    last = json.loads(lines[-1])
    assert last["stopping"] is True
    assert 0 < _transitions() < CLOCKS  # it stopped part way, between batches
    finish(start_worker(scratch, mail_dir, *SMALL, "--once"))
    _assert_exactly_once(kinds, mail_dir, duplicates_allowed=0)


def test_an_idle_worker_stops_promptly_on_sigint(scratch: str, mail_dir: Path) -> None:
    worker = start_worker(scratch, mail_dir, "--interval", "60")
    assert worker.stdout is not None
    json.loads(worker.stdout.readline())  # the first pass has run; now it waits
    worker.send_signal(signal.SIGINT)
    finish(worker, timeout=15)


def test_workers_killed_mid_sweep_and_mid_delivery_lose_and_duplicate_nothing(
    scratch: str, mail_dir: Path,
) -> None:
    kinds = clocks_populate(count=CLOCKS, due_share=1.0, moment=clock.now())
    lease = ("--lease", "1")
    # Killed outright (SIGKILL: no handler, no clean-up) part way through the sweep...
    first = start_worker(scratch, mail_dir, *SMALL, *lease)
    wait_until(lambda: _transitions() > 0, process=first)
    first.kill()
    first.wait()
    done = _transitions()
    assert 0 < done < CLOCKS
    # ...then a second one killed part way through delivering the emails...
    second = start_worker(scratch, mail_dir, *SMALL, *lease)
    wait_until(lambda: EmailOutbox.objects.filter(status=EmailStatus.SENT).exists(),
               process=second)
    second.kill()
    second.wait()
    assert _transitions() == CLOCKS
    assert EmailOutbox.objects.filter(status=EmailStatus.SENT).count() < \
        Notification.objects.count()
    # ...and a third, once the dead worker's lease has run out, finishes the job.
    time.sleep(1.2)
    finish(start_worker(scratch, mail_dir, *SMALL, *lease, "--once"))
    # Only the message in flight when the second worker died may arrive twice, with the
    # same Message-ID (the documented at-least-once boundary).
    _assert_exactly_once(kinds, mail_dir, duplicates_allowed=1)


def test_two_workers_at_once_share_the_work_without_doubling_it(scratch: str,
                                                                mail_dir: Path) -> None:
    kinds = clocks_populate(count=CLOCKS, due_share=1.0, moment=clock.now())
    workers = [start_worker(scratch, mail_dir, *SMALL, "--once") for _ in range(2)]
    reports = [json.loads(finish(w).splitlines()[-1]) for w in workers]
    assert sum(r["escalated"] for r in reports) == kinds["escalate"]
    assert sum(r["breached"] for r in reports) == kinds["breach"]
    assert sum(r["emails_sent"] for r in reports) == Notification.objects.count()
    _assert_exactly_once(kinds, mail_dir, duplicates_allowed=0)
