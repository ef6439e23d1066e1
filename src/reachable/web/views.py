"""Web views: thin. Each one calls a selector or a service and maps the domain's answers to
HTTP: NotFound -> 404 (the same page for missing and forbidden), PermissionDenied -> 403,
ValidationFailed -> the form again with a GOV.UK error summary and status 400."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reachable.access.policies import Activity, PersonPolicy, has_activity
from reachable.access.services import break_glass_open, notifications_mark_read
from reachable.core.errors import NotFound, PermissionDenied, ValidationFailed
from reachable.mpi.policies import MatchReviewPolicy
from reachable.mpi.selectors import merges_of, survivor_visible_to
from reachable.organisations.models import User
from reachable.records import queues, selectors
from reachable.rules.models import AlertStatus
from reachable.rules.policies import AlertPolicy
from reachable.rules.registry import get_rule
from reachable.rules.services import alert_acknowledge as alert_acknowledge_service
from reachable.web.forms import AcknowledgeForm, BreakGlassForm, SignInForm, copy_errors


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required ran first
    return user


def _require(actor: User, activity: Activity) -> None:
    if not has_activity(actor, activity):
        raise HttpForbidden


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = SignInForm


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    counts = (selectors.team_alert_counts(actor=actor)
              if has_activity(actor, Activity.VIEW_TEAM_QUEUE) else None)
    unread = sum(1 for n in selectors.notification_list(actor=actor) if n.read_at is None)
    return render(request, "web/home.html", {
        "counts": counts, "unread": unread,
        "can_search": has_activity(actor, Activity.VIEW_RECORD),
    })


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    _require(actor, Activity.VIEW_RECORD)
    query = request.GET.get("q", "").strip()[:200]
    results = selectors.people_search(actor=actor, query=query) if query else []
    return render(request, "web/search.html", {
        "query": query, "results": results, "searched": bool(query),
        "limit": selectors.SEARCH_LIMIT,
    })


def _person_not_found(request: HttpRequest, person_id: int) -> HttpResponse:
    """The one page for "no such child" and "not yours to see": nothing on it depends on
    which, so it cannot be used to find out whether a record exists."""
    actor = _actor(request)
    context: dict[str, Any] = {"not_found_person": True}
    if has_activity(actor, Activity.BREAK_GLASS):
        context["emergency_access_url"] = reverse("web:break_glass", args=[person_id])
    return render(request, "web/404.html", context, status=404)


@login_required
@require_GET
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        record = selectors.person_record(actor=actor, person_id=person_id)
    except NotFound:
        # A merged record's P-ref leads to the survivor, for those who may open it (mpi).
        survivor = survivor_visible_to(actor=actor, person_id=person_id)
        if survivor is not None:
            return redirect("web:person", person_id=survivor.pk)
        return _person_not_found(request, person_id)
    alert_ids = [a.pk for a in record.alerts]
    reachable_alerts = set(
        AlertPolicy.visible_alerts(actor).filter(pk__in=alert_ids).values_list("pk", flat=True)
    )
    clocks = [{"clock": c, "rule": get_rule(c.rule_id)} for c in record.clocks]
    return render(request, "web/person.html", {
        "record": record,
        "person": record.person,
        "open_alerts": [a for a in record.alerts if a.status == AlertStatus.OPEN],
        "reachable_alerts": reachable_alerts,
        "clocks": clocks,
        "can_see_viewers": PersonPolicy.can_view_record_audit(actor, record.person.pk),
        "sealed": selectors.REDACTED,
        # Records recognised as this child (the page's reader has opened the child already).
        "merges": list(merges_of(record.person.pk).select_related("merged")),
        "can_open_merges": MatchReviewPolicy.can_view(actor),
    })


@login_required
@require_GET
def person_viewers(request: HttpRequest, person_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        views = selectors.record_viewers(actor=actor, person_id=person_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(request, "web/viewers.html", {
        "person_id": person_id, "person_ref": f"P-{person_id:06d}", "views": views,
        "can_open": PersonPolicy.can_view(actor, person_id),
    })


@login_required
@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest, person_id: int) -> HttpResponse:
    actor = _actor(request)
    _require(actor, Activity.BREAK_GLASS)
    form = BreakGlassForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                break_glass_open(actor=actor, person_id=person_id,
                                 reason=form.cleaned_data["reason"])
            except NotFound as exc:
                raise Http404(str(exc)) from exc
            except PermissionDenied as exc:
                raise HttpForbidden(str(exc)) from exc
            except ValidationFailed as exc:
                copy_errors(form, exc)
            else:
                messages.success(request, "Emergency access granted. Your manager has been told.")
                return redirect("web:person", person_id=person_id)
        status = 400
    return render(request, "web/break_glass.html", {
        "form": form, "person_id": person_id, "person_ref": f"P-{person_id:06d}",
    }, status=status)


def _alert_page(request: HttpRequest, alert_id: int, form: AcknowledgeForm,
                status: int = 200, action_errors: ValidationFailed | None = None
                ) -> HttpResponse:
    try:
        detail = selectors.alert_detail(actor=_actor(request), alert_id=alert_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    rule = get_rule(detail.alert.rule_id)
    template = "web/_acknowledge.html" if _is_htmx(request) else "web/alert.html"
    team_members = (list(User.objects.filter(team_id=detail.alert.team_id, is_active=True)
                         .order_by("first_name", "last_name", "username"))
                    if detail.alert.team_id else [])
    return render(request, template, {
        "detail": detail, "alert": detail.alert, "rule": rule, "form": form,
        "is_open": detail.alert.status == AlertStatus.OPEN,
        "evidence": queues.alert_evidence(detail.alert),
        "teams": queues.reroute_choices(detail.alert), "team_members": team_members,
        "action_errors": action_errors.errors if action_errors else {},
    }, status=status)


def alert_page_with_errors(request: HttpRequest, alert_id: int,
                           errors: ValidationFailed) -> HttpResponse:
    """An alert action (assign, re-route, escalate) was refused: the page with its errors."""
    return _alert_page(request, alert_id, AcknowledgeForm(), status=400, action_errors=errors)


@login_required
@require_GET
def alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _alert_page(request, alert_id, AcknowledgeForm())


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            alert_acknowledge_service(
                actor=_actor(request), alert_id=alert_id,
                information_shared=form.cleaned_data["information_shared"],
                outcome=form.cleaned_data["outcome"],
            )
        except NotFound as exc:
            raise Http404(str(exc)) from exc
        except ValidationFailed as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, "Alert acknowledged. The clock has been met.")
            target = reverse("web:alert", args=[alert_id])
            if _is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return HttpResponseRedirect(target)
    return _alert_page(request, alert_id, form, status=400)


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    items = selectors.notification_list(actor=_actor(request))
    return render(request, "web/notifications.html", {
        "notifications": items, "unread": sum(1 for n in items if n.read_at is None),
    })


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_read(actor=_actor(request))
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read."
                     if count else "You had no unread notifications.")
    return HttpResponseRedirect(reverse("web:notifications"))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/404.html", {}, status=404)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/403.html", {}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """The GOV.UK "problem with the service" page. Rendered without the request's context
    (no user, no navigation): nothing on it may need the database, which may be what failed."""
    return HttpResponse(loader.get_template("web/500.html").render({}), status=500)
