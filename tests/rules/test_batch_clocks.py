"""A clock started and met within one intake batch: held, changed in memory, stored as met.

``events_submit_batch`` holds the alerts and clocks it raises (``core.held``) and changes
still-held ones in memory. A MASH screening (RAG clock and alert) and the decision that meets
it, in one file from the same agency, must leave the clock met and the alert settled, exactly
as two separate submissions do.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from reachable.core import clock
from reachable.intake.services import Submission, events_submit_batch
from reachable.rules.models import Alert, AlertStatus, Clock, ClockStatus
from tests.borough import Borough
from tests.rules.test_catalogue_front_door import CHILD, event, local, screened


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


def _second_child() -> dict[str, str]:
    return {**CHILD, "given_name": "Marek", "nhs_number": "4010232137"}


def test_stored_clocks_met_in_a_batch_are_changed_together_at_its_end(
        borough: Borough) -> None:
    """Clocks already stored when a batch meets them are changed by conditional UPDATEs held
    to the batch's end and written in one go: the rows end as single submissions leave them."""
    start = local("2025-04-17T15:00")
    decided = local("2025-04-22T10:59")
    other = _second_child()
    with clock.frozen_at(start + timedelta(minutes=1)):
        events_submit_batch(actor=borough.system_for("csc"), payloads=[
            screened("red", start), screened("amber", start, subject=other)])
    assert Clock.objects.filter(rule_id="mash-rag", status=ClockStatus.OPEN).count() == 2
    with clock.frozen_at(decided + timedelta(minutes=1)), \
            CaptureQueriesContext(connection) as queries:
        outcomes = events_submit_batch(actor=borough.system_for("csc"), payloads=[
            event("mash.decided", {"outcome": "assessment"}, decided),
            event("mash.decided", {"outcome": "early_help"}, decided, subject=other)])
    assert all(isinstance(o, Submission) for o in outcomes), outcomes
    clocks = Clock.objects.filter(rule_id="mash-rag").order_by("pk")
    assert [(c.status, c.met_by, c.met_at) for c in clocks] == [
        (ClockStatus.MET, "mash.decided", decided)] * 2
    assert set(Alert.objects.filter(rule_id="mash-rag").values_list("status", flat=True)) == {
        AlertStatus.ACKNOWLEDGED}
    for outcome, clk in zip(outcomes, clocks, strict=True):
        assert isinstance(outcome, Submission)
        assert outcome.result["clocks_met"] == [{"id": clk.pk, "rule": "mash-rag"}]
    clock_updates = [q["sql"] for q in queries.captured_queries
                     if 'UPDATE "rules_clock"' in q["sql"]]
    # Both clocks in one executemany (which Django logs once, as "2 times: UPDATE ...").
    assert len(clock_updates) == 1 and clock_updates[0].startswith("2 times:"), clock_updates

