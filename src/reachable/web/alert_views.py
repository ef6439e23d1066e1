"""Alert queues (team and personal, with the MOJ filter), actions on an alert (take, assign,
re-route, escalate) and the rules page. Thin: selectors and services decide everything."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from reachable.access.policies import Activity, has_activity
from reachable.core.errors import NotFound, ValidationFailed
from reachable.organisations.models import Role, User
from reachable.records import queues
from reachable.records.selectors import open_clock
from reachable.rules.models import Alert, Clock
from reachable.rules.registry import all_rules
from reachable.rules.services import alert_assign, alert_escalate, alert_reroute
from reachable.web.forms import AssignForm, EscalateForm, RerouteForm


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@dataclass(frozen=True)
class QueueRow:
    alert: Alert
    clock: Clock | None
    clocks: list[Clock]


@dataclass(frozen=True)
class FilterTag:
    label: str
    remove_href: str


def _remove_href(request: HttpRequest, name: str, label: str) -> str:
    """The queue URL with one chosen filter value taken away."""
    pairs = []
    for key, values in request.GET.lists():
        for value in values:
            if key == name and (name != "severity" or value.capitalize() == label):
                continue
            pairs.append((key, value))
    return f"{request.path}?{urlencode(pairs)}" if pairs else request.path


def _queue_page(request: HttpRequest, *, mine: bool) -> HttpResponse:
    actor = _actor(request)
    if not has_activity(actor, Activity.VIEW_TEAM_QUEUE):
        raise HttpForbidden
    filters = queues.AlertFilters.from_query(dict(request.GET.lists()))
    alerts = queues.alert_queue(actor=actor, mine=mine, filters=filters)
    rows = [QueueRow(a, open_clock(a), list(a.clocks.all())) for a in alerts]
    # Most urgent first: running clocks by deadline, then the rest in the order raised.
    rows.sort(key=lambda r: (r.clock is None, r.clock.deadline if r.clock else r.alert.raised_at))
    tags = [FilterTag(label, _remove_href(request, name, label))
            for name, label in filters.active]
    return render(request, "web/queue.html", {
        "rows": rows, "filters": filters, "tags": tags, "mine": mine, "team": actor.team,
        "rules": sorted(all_rules(), key=lambda r: r.id),
        "severities": queues.SEVERITIES, "show_all": filters.status == "all",
    })


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, mine=False)


@login_required
@require_GET
def my_alerts(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, mine=True)


def _after_action(alert_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("web:alert", args=[alert_id]))


def _refused(request: HttpRequest, alert_id: int, exc: ValidationFailed) -> HttpResponse:
    """Actions are small forms on the alert page: show the page again with the errors."""
    from reachable.web.views import alert_page_with_errors

    return alert_page_with_errors(request, alert_id, exc)


@login_required
@require_POST
def assign(request: HttpRequest, alert_id: int) -> HttpResponse:
    form = AssignForm(request.POST)
    assignee = form.cleaned_data["assignee"] if form.is_valid() else None
    try:
        alert_assign(actor=_actor(request), alert_id=alert_id, assignee_id=assignee)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except ValidationFailed as exc:
        return _refused(request, alert_id, exc)
    messages.success(request, "The alert is in your alerts." if assignee is None else
                     "The alert has been assigned.")
    return _after_action(alert_id)


@login_required
@require_POST
def reroute(request: HttpRequest, alert_id: int) -> HttpResponse:
    form = RerouteForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    try:
        alert_reroute(actor=_actor(request), alert_id=alert_id, team_id=data.get("team") or 0,
                      reason=data.get("reason") or "")
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except ValidationFailed as exc:
        return _refused(request, alert_id, exc)
    messages.success(request, "The alert has been sent to the other team.")
    # The actor may no longer see the alert once it has left their team: back to the queue.
    return HttpResponseRedirect(reverse("web:queue"))


@login_required
@require_POST
def escalate(request: HttpRequest, alert_id: int) -> HttpResponse:
    form = EscalateForm(request.POST)
    form.is_valid()
    try:
        alert_escalate(actor=_actor(request), alert_id=alert_id,
                       reason=form.cleaned_data.get("reason") or "")
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except ValidationFailed as exc:
        return _refused(request, alert_id, exc)
    messages.success(request, "Escalated. The team manager has been told.")
    return _after_action(alert_id)


RULES_PAGE_ROLES = frozenset(Role.values) - {Role.AGENCY_SYSTEM}


@login_required
@require_GET
def rules_page(request: HttpRequest) -> HttpResponse:
    """The catalogue with provenance and recent use. No child data: any practitioner."""
    if _actor(request).role not in RULES_PAGE_ROLES:
        raise HttpForbidden
    return render(request, "web/rules.html", {"rows": queues.rule_catalogue()})
