"""Refuse oversized API bodies before anything reads them (413, JSON)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.REACHABLE_MAX_EVENT_BYTES
            if length > limit:
                return JsonResponse(
                    {"errors": {"non_field_errors": [f"Request body over {limit} bytes."]}},
                    status=413,
                )
        return self.get_response(request)
