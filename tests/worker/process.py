"""Running ``reachable worker`` as a real subprocess against a scratch database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
MESSAGE_ID = re.compile(r"^Message-ID: (\S+)$", re.MULTILINE)


def database_url(name: str) -> str:
    """A DATABASE_URL for the scratch database ``name`` (the current connection's server)."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    s = connection.settings_dict
    auth = quote(str(s.get("USER") or ""))
    if s.get("PASSWORD"):
        auth += ":" + quote(str(s["PASSWORD"]))
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{name}"


def start_worker(db_name: str, mail_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, DATABASE_URL=database_url(db_name),
               DJANGO_SETTINGS_MODULE="tests.worker.subprocess_settings",
               REACHABLE_TEST_MAIL_DIR=str(mail_dir), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "django", "worker", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env,  # noqa: S603  (our own command)
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition: Callable[[], bool], *, timeout: float = 60.0,
               process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            _out, err = process.communicate()
            raise AssertionError(f"worker exited early ({process.returncode}): {err[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.01)


def finish(process: subprocess.Popen[str], timeout: float = 120.0) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out


def message_ids(mail_dir: Path) -> Counter[str]:
    """Every Message-ID the file backend wrote, counted (a duplicate counts twice)."""
    found: Counter[str] = Counter()
    for path in mail_dir.iterdir():
        found.update(MESSAGE_ID.findall(path.read_text()))
    return found
