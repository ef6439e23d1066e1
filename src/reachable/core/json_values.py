"""Values as JSON will give them back: what a round trip through ``json`` would make of them.

Stored JSON (an event's subject, an audit record's detail) is hashed or compared with what the
database later returns, so it must be exactly what ``json.loads(json.dumps(value,
default=str))`` gives: tuples become lists, dates and times their ``str``. That round trip
writes and parses a string for every value, thousands a batch; most values are already
plain, or plain but for a date, and are copied here without it. Anything else (a key that is
not a string, a float that is not finite, a type JSON does not know) takes the round trip
itself, so the answer is always the round trip's.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time
from typing import Any

_SCALARS = (str, int, bool, type(None))


class _NotPlain(Exception):
    pass


def _ready(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _NotPlain
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            out[key] = _ready(item)
        return out
    if kind is list or kind is tuple:
        return [_ready(item) for item in value]
    if kind is date or kind is datetime or kind is time:
        return str(value)
    raise _NotPlain


def json_ready(value: Any) -> Any:
    """``json.loads(json.dumps(value, default=str))``, without the string where it can."""
    try:
        return _ready(value)
    except _NotPlain:
        return json.loads(json.dumps(value, default=str))
