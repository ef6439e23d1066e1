"""A clock started and met within one intake batch: held, changed in memory, stored as met.

``events_submit_batch`` holds the alerts and clocks it raises (``core.held``) and changes
still-held ones in memory. A MASH screening (RAG clock and alert) and the decision that meets
it, in one file from the same agency, must leave the clock met and the alert settled, exactly
as two separate submissions do.
"""

from __future__ import annotations

from datetime import timedelta

from reachable.core import clock
from reachable.intake.services import Submission, events_submit_batch
from reachable.rules.models import Alert, AlertStatus, Clock, ClockStatus
from tests.borough import Borough
from tests.rules.test_catalogue_front_door import event, local, screened


def test_a_clock_started_and_met_in_one_batch_is_stored_met(borough: Borough) -> None:
    start = local("2025-04-17T15:00")
    decided = local("2025-04-22T10:59")
    payloads = [screened("red", start),
                event("mash.decided", {"outcome": "assessment"}, decided)]
    with clock.frozen_at(decided + timedelta(minutes=1)):
        outcomes = events_submit_batch(actor=borough.system_for("csc"), payloads=payloads)
    assert all(isinstance(o, Submission) for o in outcomes)
    first, second = outcomes
    assert isinstance(first, Submission) and isinstance(second, Submission)
    [clk] = Clock.objects.filter(rule_id="mash-rag")
    assert (clk.status, clk.met_by, clk.met_at) == (ClockStatus.MET, "mash.decided", decided)
    [alert] = Alert.objects.filter(rule_id="mash-rag")
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_at == decided
    assert alert.outcome == "Met by mash.decided from csc"
    # The results name the rows that were stored.
    assert first.result["clocks"][0]["id"] == clk.pk
    assert {"id": clk.pk, "rule": "mash-rag"} in second.result["clocks_met"]
