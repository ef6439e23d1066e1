"""Top-level URL map: the web UI, the API, and the health check."""

from django.urls import include, path, re_path
from django.views.generic import RedirectView

from reachable.api.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/", include("reachable.api.urls")),
    # GOV.UK Frontend's compiled CSS refers to /assets/...; serve those from static files.
    re_path(r"^assets/(?P<path>.*)$", RedirectView.as_view(url="/static/assets/%(path)s")),
    path("", include("reachable.web.urls")),
]
