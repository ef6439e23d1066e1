"""The master person index's pages: the clerical review queue, one review item side by side
(accept = merge, reject = different people), and a merge record with its undo.

Thin, like ``views``: selectors and services decide; NotFound -> 404 (the same page for a
missing item and one the user may not see), PermissionDenied -> 403, ValidationFailed -> the
form again with a GOV.UK error summary and status 400.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from reachable.core.errors import NotFound, PermissionDenied, ValidationFailed
from reachable.mpi import selectors as mpi_selectors
from reachable.mpi.models import ReviewStatus
from reachable.mpi.policies import MatchReviewPolicy, access_review_item
from reachable.mpi.services import person_unmerge, review_item_accept, review_item_reject
from reachable.organisations.models import User
from reachable.web.forms import copy_errors

ACCEPT, REJECT = "accept", "reject"

# Plain words for the comparison's agreement levels: the result is always written out, never
# carried by colour alone.
AGREEMENT_WORDS = {
    "agree": ("Agrees", "green"),
    "partial": ("Partly agrees", "yellow"),
    "disagree": ("Disagrees", "red"),
    "null": ("Missing on one or both", "grey"),
}


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[(ACCEPT, "Yes"), (REJECT, "No")], required=True,
        error_messages={"required": "Select whether these records are the same child",
                        "invalid_choice": "Select whether these records are the same child"},
    )
    notes = forms.CharField(required=False, max_length=4000, strip=True)


class UnmergeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=4000, strip=True)


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required ran first
    return user


def _signed(value: Any) -> str:
    """A weight with its sign spelt out (+6.32, or -2.32 with a true minus sign): the
    direction must never rely on colour."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "Not given"
    return f"+{number:.2f}" if number >= 0 else f"\u2212{abs(number):.2f}"


def _percent(probability: float) -> str:
    """Two decimals, so 0.9996 never reads as a certain 100%."""
    return f"{probability * 100:.2f}%"


def _comparison_rows(comparison: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry in comparison:
        words, colour = AGREEMENT_WORDS.get(str(entry.get("agreement")), ("Not given", "grey"))
        weight: Any = entry.get("match_weight")
        try:
            number = float(weight)
            direction = ("for a match" if number > 0 else
                         "against a match" if number < 0 else "neither way")
        except (TypeError, ValueError):
            direction = ""
        rows.append({
            "field": str(entry.get("field", "")).replace("_", " ").capitalize(),
            "left": entry.get("left") or "", "right": entry.get("right") or "",
            "level": entry.get("level") or "", "agreement": words, "colour": colour,
            "bayes_factor": entry.get("bayes_factor"), "weight": _signed(weight),
            "direction": direction,
        })
    return rows


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if not MatchReviewPolicy.can_view(actor):
        raise HttpForbidden
    status = request.GET.get("status", ReviewStatus.OPEN)
    if status not in ReviewStatus.values:
        status = ReviewStatus.OPEN
    items = mpi_selectors.review_queue(actor=actor, status=status)
    for item in items:
        item.probability_text = _percent(item.match_probability)  # type: ignore[attr-defined]
    return render(request, "review/queue.html", {
        "review_items": items, "status": status, "statuses": ReviewStatus.choices,
        "counts": mpi_selectors.review_counts(),
    })


def _item_page(request: HttpRequest, item_id: int, form: ReviewDecisionForm,
               status: int = 200) -> HttpResponse:
    try:
        detail = mpi_selectors.review_item_detail(actor=_actor(request), item_id=item_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    rows = _comparison_rows(detail.item.comparison)
    return render(request, "review/item.html", {
        "detail": detail, "item": detail.item, "form": form, "rows": rows,
        "incoming": detail.incoming, "candidate": detail.candidate,
        "people": [detail.incoming, detail.candidate],
        "is_open": detail.item.status == ReviewStatus.OPEN,
        "total_weight": _signed(detail.item.match_weight),
        "probability": _percent(detail.item.match_probability),
    }, status=status)


@login_required
@require_GET
def review_item(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_page(request, item_id, ReviewDecisionForm())


@login_required
@require_POST
def review_decide(request: HttpRequest, item_id: int) -> HttpResponse:
    actor = _actor(request)
    try:  # unknown or forbidden items answer 404 before anything about the form
        access_review_item(actor, item_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    if not MatchReviewPolicy.can_decide(actor):
        raise HttpForbidden("Your role can look at review items but not decide them.")
    form = ReviewDecisionForm(request.POST)
    if form.is_valid():
        decision, notes = form.cleaned_data["decision"], form.cleaned_data["notes"]
        try:
            if decision == ACCEPT:
                item = review_item_accept(actor=actor, item_id=item_id, notes=notes)
            else:
                item = review_item_reject(actor=actor, item_id=item_id, notes=notes)
        except NotFound as exc:
            raise Http404(str(exc)) from exc
        except PermissionDenied as exc:
            raise HttpForbidden(str(exc)) from exc
        except ValidationFailed as exc:
            copy_errors(form, exc)
        else:
            if decision == ACCEPT:
                messages.success(request, f"Records merged: {item.incoming.ref} is now part of "
                                          f"{item.candidate.ref}.")
            else:
                messages.success(request, f"Recorded as different children: {item.incoming.ref} "
                                          f"and {item.candidate.ref} will not be offered again.")
            return redirect("web:review_item", item_id=item_id)
    return _item_page(request, item_id, form, status=400)


def _merge_page(request: HttpRequest, merge_id: int, form: UnmergeForm,
                status: int = 200) -> HttpResponse:
    try:
        detail = mpi_selectors.merge_detail(actor=_actor(request), merge_id=merge_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(request, "review/merge.html", {
        "detail": detail, "merge": detail.merge, "form": form,
    }, status=status)


@login_required
@require_GET
def merge(request: HttpRequest, merge_id: int) -> HttpResponse:
    return _merge_page(request, merge_id, UnmergeForm())


@login_required
@require_POST
def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    form = UnmergeForm(request.POST)
    form.is_valid()  # only strips and bounds the text; the service decides
    try:
        person_unmerge(actor=_actor(request), merge_id=merge_id,
                       reason=form.cleaned_data.get("reason", ""))
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except PermissionDenied as exc:
        raise HttpForbidden(str(exc)) from exc
    except ValidationFailed as exc:
        copy_errors(form, exc)
        return _merge_page(request, merge_id, form, status=400)
    messages.success(request, "Merge undone: both records are as they were before it, and "
                              "they are recorded as different children.")
    return redirect("web:merge", merge_id=merge_id)
