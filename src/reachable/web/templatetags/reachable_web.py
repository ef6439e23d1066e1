"""Template helpers: role-aware navigation, countdowns and plain-words labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from reachable.access.models import GrantReason
from reachable.access.policies import Activity, has_activity
from reachable.mpi.policies import MatchReviewPolicy
from reachable.organisations.models import Role
from reachable.web import presentation
from reachable.web.presentation import NavItem

register = template.Library()


@register.simple_tag
def nav_items(request: HttpRequest) -> list[NavItem]:
    """The service navigation for the signed-in user's role: only links they may follow."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    match = getattr(request, "resolver_match", None)
    here = match.url_name if match else ""
    items = [NavItem("Home", reverse("web:home"), here == "home")]
    if has_activity(user, Activity.VIEW_RECORD):
        items.append(NavItem("Find a child", reverse("web:search"),
                             here in {"search", "person", "break_glass"}))
    if has_activity(user, Activity.VIEW_TEAM_QUEUE):
        items.append(NavItem("Team alerts", reverse("web:queue"), here in {"queue", "alert"}))
        items.append(NavItem("My alerts", reverse("web:my_alerts"), here == "my_alerts"))
    if MatchReviewPolicy.can_view(user):
        items.append(NavItem("Possible matches", reverse("web:review_queue"),
                             here in {"review_queue", "review_item", "merge"}))
    items.append(NavItem("Notifications", reverse("web:notifications"), here == "notifications"))
    if user.role != Role.AGENCY_SYSTEM:
        items.append(NavItem("Rules", reverse("web:rules"), here == "rules"))
    return items


@register.simple_tag
def countdown(deadline: datetime) -> SafeString:
    """Time left before a deadline: readable without JavaScript, ticking with it."""
    text, overdue = presentation.remaining_words(deadline)
    return format_html(
        '<span class="app-countdown{}" role="timer" aria-live="off" data-deadline="{}">'
        "{}</span>",
        " app-countdown--overdue" if overdue else "", deadline.isoformat(), text,
    )


@register.filter
def event_label(event_type: str) -> str:
    return presentation.event_label(event_type)


@register.filter
def event_summary(event_type: str) -> str:
    return presentation.event_summary(event_type)


@register.filter
def field_label(name: str) -> str:
    return presentation.field_label(name)


@register.filter
def value_text(value: Any) -> str:
    return presentation.value_text(value)


@register.filter
def grant_reason(value: str) -> str:
    """A relationship reason code in plain words (``team_case`` -> ``Team on the case``)."""
    try:
        return str(GrantReason(value).label)
    except ValueError:
        return presentation.field_label(value)
