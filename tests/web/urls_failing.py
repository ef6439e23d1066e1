"""The real URL map plus one view that fails, for the 500 page's test."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from reachable.urls import handler403, handler404, handler500
from reachable.urls import urlpatterns as real


def failing(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the database went away")


urlpatterns = [path("failing", failing), *real]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
