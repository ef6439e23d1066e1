"""Domain errors to HTTP: 400 with field messages, 403, and 404 for missing-or-forbidden."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from reachable.core.errors import NotFound, PermissionDenied, ValidationFailed


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ValidationFailed):
        return Response({"errors": exc.errors}, status=getattr(exc, "status_code", 400))
    if isinstance(exc, NotFound):
        return Response({"detail": "Not found."}, status=404)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": str(exc)}, status=403)
    return drf_exception_handler(exc, context)
