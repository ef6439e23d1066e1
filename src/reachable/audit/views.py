"""Every view runs with its audit records written at its end (``audit_deferred``).

Django's ``ATOMIC_REQUESTS`` runs each view in one transaction; wrapping the view inside it
means the audit records of a page about a child are written, and the chain's lock taken, only
after the page has been read and rendered, just before the commit. The root URL map wraps
every view it reaches (``views_audited_at_end``), so a new page cannot forget.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.urls import URLPattern, URLResolver

from reachable.audit.services import audit_deferred

View = Callable[..., Any]


def view_audited_at_end(view: View) -> View:
    """``view`` inside ``audit_deferred``; views that opt out of the request's transaction
    (``non_atomic_requests``) are left as they are, since there is nothing to defer into."""
    if getattr(view, "audit_deferred", False) or DEFAULT_DB_ALIAS in getattr(
            view, "_non_atomic_requests", set()):
        return view

    @functools.wraps(view)  # keeps csrf_exempt, view_class and the like
    def audited_at_end(request: Any, *args: Any, **kwargs: Any) -> Any:
        with audit_deferred():
            return view(request, *args, **kwargs)

    audited_at_end.audit_deferred = True  # type: ignore[attr-defined]
    return audited_at_end


def views_audited_at_end(patterns: Iterable[URLPattern | URLResolver]) -> None:
    """Wrap, in place, the view of every URL in ``patterns`` and in the URL maps they include."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            views_audited_at_end(entry.url_patterns)
        else:
            entry.callback = view_audited_at_end(entry.callback)
