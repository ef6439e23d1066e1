"""Top-level URL map: the web UI, the API, and the health check."""

from django.db import transaction
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView

from reachable.api.health import healthz
from reachable.audit.views import views_audited_at_end

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", healthz, name="healthz"),
    path("api/", include("reachable.api.urls")),
    # GOV.UK Frontend's compiled CSS refers to /assets/...; serve those from static files.
    # A redirect touches no data, so it opts out of the per-request transaction.
    re_path(r"^assets/(?P<path>.*)$", transaction.non_atomic_requests(
        RedirectView.as_view(url="/static/assets/%(path)s"))),
    path("", include("reachable.web.urls")),
]
# Each view's audit records are written at its end, inside the request's transaction, so a
# page about a child holds the audit chain's lock only for the write and the commit.
views_audited_at_end(urlpatterns)

# GOV.UK-styled error pages (used when DEBUG is off, as in tests and production).
handler403 = "reachable.web.views.forbidden"
handler404 = "reachable.web.views.not_found"
handler500 = "reachable.web.views.server_error"
