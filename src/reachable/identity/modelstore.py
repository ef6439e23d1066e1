"""Which model scores links now, and the thresholds that turn its weights into decisions.

The active ``LinkageModel`` row wins; with none, the default model shipped in the package
(``data/default_model.json``, trained on synthetic data by ``reachable link train``) lets a
fresh install link immediately. Loaded scorers are cached per version for the process.

Thresholds are Django settings so that a partnership can tune them without a release:
``LINKAGE_AUTO_LINK_WEIGHT`` (at or above: linked automatically) and
``LINKAGE_REVIEW_WEIGHT`` (at or above, below auto-link: a new person plus a review item).
The defaults come from the linkage benchmark (docs/decisions/0006).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from reachable.audit.services import audit_append
from reachable.identity.models import LinkageModel
from reachable.identity.scorer import Scorer

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "default_model.json"
DEFAULT_AUTO_LINK_WEIGHT = 6.0
DEFAULT_REVIEW_WEIGHT = 2.0


@dataclass(frozen=True)
class Thresholds:
    auto_link: float
    review: float


def thresholds() -> Thresholds:
    auto = float(getattr(settings, "LINKAGE_AUTO_LINK_WEIGHT", DEFAULT_AUTO_LINK_WEIGHT))
    review = float(getattr(settings, "LINKAGE_REVIEW_WEIGHT", DEFAULT_REVIEW_WEIGHT))
    if review > auto:
        raise ValueError("LINKAGE_REVIEW_WEIGHT must not exceed LINKAGE_AUTO_LINK_WEIGHT")
    return Thresholds(auto_link=auto, review=review)


@cache
def default_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEFAULT_MODEL_PATH.read_text())
    return document


_scorers: dict[str, Scorer] = {}


def scorer_for(document: dict[str, Any]) -> Scorer:
    version = document["version"]
    if version not in _scorers:
        _scorers[version] = Scorer(document)
    return _scorers[version]


_pinned: ContextVar[Scorer | None] = ContextVar("pinned_scorer", default=None)


@contextmanager
def scorer_pinned() -> Iterator[Scorer]:
    """Within the block (one transaction resolving many subjects) the active model is looked
    up once. Activating another model is its own transaction, so none can start mid-block."""
    scorer = active_scorer()
    token = _pinned.set(scorer)
    try:
        yield scorer
    finally:
        _pinned.reset(token)


def active_scorer() -> Scorer:
    """The scorer of the active model (one indexed query; the model loads once per process)."""
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    version = LinkageModel.objects.filter(active=True).values_list("version", flat=True).first()
    if version is None:
        return scorer_for(default_document())
    if version not in _scorers:
        document = LinkageModel.objects.get(version=version).document
        _scorers[version] = Scorer(document)
    return _scorers[version]


def model_install(*, document: dict[str, Any], at: datetime, activate: bool = True
                  ) -> LinkageModel:
    """Store a trained model (idempotent per version) and, by default, make it active."""
    Scorer(document)  # refuse a document the scorer cannot read before storing it
    with transaction.atomic():
        model, _ = LinkageModel.objects.get_or_create(
            version=document["version"],
            defaults={"document": document, "created_at": at,
                      "trained_at": datetime.fromisoformat(document["trained_at"])})
        if activate:
            LinkageModel.objects.filter(active=True).exclude(pk=model.pk).update(active=False)
            if not model.active:
                model.active = True
                model.save(update_fields=["active"])
        audit_append(actor=None, action="linkage_model.installed", object_type="linkage_model",
                     object_id=model.pk, detail={"version": model.version, "active": activate,
                                                 "trained_on": document.get("trained_on", {})})
    return model
