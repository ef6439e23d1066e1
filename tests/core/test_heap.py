"""The long jobs' heap set aside from garbage collection (``core.heap``), once per process."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from reachable.core import clock, heap
from reachable.intake.files import events_import_file
from tests.borough import Borough, custody_event

AT = datetime.fromisoformat("2025-03-06T10:15:00+00:00")


@pytest.fixture
def thawed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Callable[[], None]]]:
    """A process that has not frozen yet; whatever a test freezes is thawed after it, and
    what would run at exit is kept here instead."""
    monkeypatch.setattr(heap, "_frozen", False)
    at_exit: list[Callable[[], None]] = []
    monkeypatch.setattr(heap.atexit, "register", at_exit.append)
    gc.unfreeze()
    try:
        yield at_exit
    finally:
        gc.unfreeze()


def test_the_heap_is_frozen_once_and_thawed_at_exit(
        thawed: list[Callable[[], None]]) -> None:
    assert gc.get_freeze_count() == 0
    assert heap.startup_heap_freeze() is True
    frozen = gc.get_freeze_count()
    assert frozen > 0
    # Made after the freeze and tracked by the collector, so a second freeze would take them.
    kept = [[n] for n in range(100)]
    assert heap.startup_heap_freeze() is False
    # Frozen objects can still be freed by reference counting (the count may fall), but
    # nothing made since may join them.
    assert gc.get_freeze_count() <= frozen and all(gc.is_tracked(k) for k in kept)
    assert thawed == [gc.unfreeze]


def test_a_file_import_sets_the_heap_aside_after_its_first_batch(
        borough: Borough, tmp_path: Path, thawed: list[Callable[[], None]]) -> None:
    path = tmp_path / "custody.ndjson"
    path.write_text("".join(json.dumps(custody_event(record=f"H-{n}")) + "\n"
                            for n in range(3)))
    with clock.frozen_at(AT):
        summary = events_import_file(path, actor=borough.system_for("met-police"),
                                     batch_size=2)
    assert summary.accepted == 3
    assert gc.get_freeze_count() > 0 and thawed == [gc.unfreeze]
