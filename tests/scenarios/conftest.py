"""Running ``reachable replay`` in-process: every scenario gets its own scratch database, so the
tests unblock database access (pytest-django blocks it outside ``db`` tests) and check that the
test database connection is handed back untouched."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "scenarios"


@dataclass
class Replayed:
    status: int
    reports: list[dict[str, Any]]
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        assert len(self.reports) == 1, self.reports
        return self.reports[0]


@pytest.fixture
def replay(django_db_blocker: Any) -> Callable[..., Replayed]:
    def run(*paths: Path | str) -> Replayed:
        out, err = StringIO(), StringIO()
        original = connections["default"]
        with django_db_blocker.unblock():
            try:
                call_command("replay", *[str(p) for p in paths], stdout=out, stderr=err)
                status = 0
            except SystemExit as exc:
                status = int(exc.code or 0)
        assert connections["default"] is original, "replay must give the connection back"
        return Replayed(status, [json.loads(line) for line in out.getvalue().splitlines()],
                        err.getvalue())

    return run


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write
