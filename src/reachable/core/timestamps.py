"""Timestamps read from PostgreSQL by the driver's compiled loader, not by Python.

Django reads every ``timestamptz`` through its own loader, a Python subclass of psycopg's
pure-Python one: it parses the text with a regular expression, builds the datetime, then
sets the Django time zone on it. Being a subclass, it also stops psycopg from using the
compiled loader its binary package provides. A batch of intake reads tens of thousands of
timestamps (the live clocks and flags of its people), and that parsing was a twentieth of
the batch.

Where Django's time zone is UTC and so is the connection's (``USE_TZ`` with no database
``TIME_ZONE``: Django sets the session to UTC when it connects), the compiled loader gives
exactly what Django's does: the same instant with ``datetime.timezone.utc``. For those
connections ``timestamps_loaded_natively`` registers a loader that hands each value to the
compiled one; anywhere else Django's loader is left alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg.abc import AdaptContext
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

_TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid


class UtcTimestamptzLoader(TimestamptzLoader):
    """``timestamptz`` as an aware UTC datetime, by psycopg's compiled loader if installed.

    ``timezone`` is what Django's own loader carries: Django compares it when it opens a
    cursor, and keeps this loader when it is the connection's time zone."""

    timezone = UTC

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        native = psycopg.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)
        if native is not None and native is not TimestamptzLoader:
            # An instance attribute: the driver calls it in place of the method below.
            self.load = native(oid, context).load  # type: ignore[method-assign]

    def load(self, data: Any) -> datetime:
        """Without the compiled loader: psycopg's, with the zone set as Django sets it."""
        return super().load(data).replace(tzinfo=self.timezone)


def timestamps_loaded_natively(sender: Any, connection: BaseDatabaseWrapper,
                               **kwargs: Any) -> None:
    """``connection_created`` receiver: register the loader on a UTC PostgreSQL connection."""
    if connection.vendor != "postgresql" or connection.timezone is not UTC:
        return
    raw = connection.connection
    if raw is None or raw.info.parameter_status("TimeZone") != "UTC":
        return
    raw.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
