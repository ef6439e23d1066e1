"""Generic re-pointing: move every row that refers to one person onto another, and back.

Why generic: alerts, clocks, derived flags and whatever comes next all hang off
``people.Person`` by a foreign key. A merge that listed the models it knew about would silently
leave the next app's rows behind. So the list is read from Django's app registry at merge time:
every concrete foreign key or one-to-one field to ``Person`` in every installed model (including
auto-created many-to-many tables), except

- the audit log, which is append-only history and keeps the ids it was written with;
- the master person index's own tables (review items, merges), which are history too;
- ``Person.merged_into``, the merge marker itself;
- any model that declares itself history with a class attribute ``mpi_history = True`` (a log
  of what was decided about a record at the time, which must keep the id it was written with).

A row moves unless moving it would break a uniqueness rule (it would duplicate a row the
survivor already has: the same alias, the same relationship) or make the row refer to the
survivor twice (a relationship between the two records). Such a row stays on the merged person,
which nobody can open while merged, and is listed as kept. Every moved (model, pk, field) is
returned so that ``rows_restore`` puts back exactly those rows and nothing else.

Moves use ``QuerySet.update``: no ``save()`` runs and no signal fires, so models whose rows are
immutable in content (the chronology) have only their person reference changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.db.models import Q

from reachable.people.models import Person

EXCLUDED_APPS = frozenset({"audit", "mpi"})
MARKER_FIELD = "merged_into"
HISTORY_FLAG = "mpi_history"
CHUNK = 500


@dataclass(frozen=True)
class PersonLink:
    """One foreign key to ``Person`` on one model."""

    model: type[models.Model]
    field: models.ForeignKey[Any, Any]

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def manager(self) -> models.Manager[Any]:
        # The base manager: a custom default manager must not hide rows from a merge.
        return self.model._base_manager


@dataclass(frozen=True)
class RowMove:
    model: str
    pk: Any
    field: str
    moved: bool
    why: str = ""


def person_links() -> list[PersonLink]:
    """Every foreign key to a person that a merge re-points, in a stable order."""
    links = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label in EXCLUDED_APPS or meta.proxy or not meta.managed:
            continue
        if getattr(model, HISTORY_FLAG, False):
            continue
        for field in meta.local_concrete_fields:
            if not isinstance(field, models.ForeignKey):  # OneToOneField is a ForeignKey
                continue
            if field.related_model is not Person:
                continue
            if model is Person and field.name == MARKER_FIELD:
                continue
            links.append(PersonLink(model, field))
    return sorted(links, key=lambda link: (link.label, link.field.name))


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


@dataclass(frozen=True)
class _Unique:
    name: str
    fields: tuple[str, ...]  # attnames
    condition: Q | None


def _unique_rules(link: PersonLink) -> list[_Unique]:
    """The uniqueness rules that involve this field (field-based ones; the database catches
    any other kind, see ``_move``)."""
    meta = link.model._meta
    attname = link.field.attname
    rules: list[_Unique] = []
    if link.field.unique:
        rules.append(_Unique(f"{link.field.name} is unique", (attname,), None))
    for together in meta.unique_together:
        names = tuple(meta.get_field(n).attname for n in together)  # type: ignore[union-attr]
        rules.append(_Unique("unique together " + ",".join(together), names, None))
    for constraint in meta.total_unique_constraints + [
        c for c in meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.condition is not None and c.fields
    ]:
        names = tuple(meta.get_field(n).attname for n in constraint.fields)  # type: ignore[union-attr]
        rules.append(_Unique(constraint.name, names, constraint.condition))
    return [rule for rule in rules if attname in rule.fields]


def _clash(link: PersonLink, pk: Any, survivor_id: int, rule: _Unique) -> bool:
    """Would this row, pointed at the survivor, duplicate another row under ``rule``?"""
    attname = link.field.attname
    row = link.manager.filter(pk=pk).values(*rule.fields).first()
    if row is None:
        return False
    if rule.condition is not None and not link.manager.filter(Q(pk=pk) & rule.condition).exists():
        return False  # the row is outside the rule's condition, so the rule cannot clash
    lookup = {name: value for name, value in row.items() if name != attname}
    if any(value is None for value in lookup.values()):
        return False  # NULLs are distinct in a unique rule
    lookup[attname] = survivor_id
    others = link.manager.filter(**lookup).exclude(pk=pk)
    if rule.condition is not None:
        others = others.filter(rule.condition)
    return others.exists()


def _sibling_links(link: PersonLink, links: Iterable[PersonLink]) -> list[PersonLink]:
    return [other for other in links if other.model is link.model and other.field != link.field]


def _plan(link: PersonLink, links: list[PersonLink], from_id: int, to_id: int
          ) -> tuple[list[Any], dict[Any, str]]:
    """The rows of ``link`` pointing at ``from_id``: those to move, and those to keep (why)."""
    attname = link.field.attname
    pks = list(link.manager.filter(**{attname: from_id}).order_by("pk")
               .values_list("pk", flat=True))
    keep: dict[Any, str] = {}
    if not pks:
        return [], keep
    siblings = _sibling_links(link, links)
    if siblings:
        twice = Q()
        for other in siblings:
            twice |= Q(**{other.field.attname: to_id})
        for chunk in _chunks(pks):
            for pk in link.manager.filter(pk__in=chunk).filter(twice).values_list("pk", flat=True):
                keep[pk] = "would refer to the survivor twice"
    for rule in _unique_rules(link):
        for pk in pks:
            if pk not in keep and _clash(link, pk, to_id, rule):
                keep[pk] = f"would duplicate a row of the survivor ({rule.name})"
    return [pk for pk in pks if pk not in keep], keep


def _move(link: PersonLink, pks: list[Any], from_id: int, to_id: int) -> dict[Any, str]:
    """Point ``pks`` at ``to_id``; returns the rows the database refused (kept, with why).

    The rules above predict the common refusals; a rule they cannot read (an expression
    index, a trigger) is caught here, one row at a time, so one refusal never loses a move.
    """
    attname = link.field.attname
    refused: dict[Any, str] = {}
    for chunk in _chunks(pks):
        try:
            with transaction.atomic():
                link.manager.filter(pk__in=chunk, **{attname: from_id}).update(**{attname: to_id})
        except IntegrityError:
            for pk in chunk:
                try:
                    with transaction.atomic():
                        link.manager.filter(pk=pk, **{attname: from_id}).update(**{attname: to_id})
                except IntegrityError as exc:
                    refused[pk] = f"the database refused the move: {str(exc)[:120]}"
    return refused


def rows_move(*, from_id: int, to_id: int) -> list[RowMove]:
    """Re-point every row referring to ``from_id`` at ``to_id``, keeping the ones that would
    collide. Run inside the merge's transaction."""
    links = person_links()
    plans = [(link, *_plan(link, links, from_id, to_id)) for link in links]  # before any move
    result: list[RowMove] = []
    for link, movable, keep in plans:
        refused = _move(link, movable, from_id, to_id) if movable else {}
        keep.update(refused)
        result.extend(RowMove(link.label, pk, link.field.name, pk not in keep, keep.get(pk, ""))
                      for pk in movable + [pk for pk in keep if pk not in movable])
    return result


class RestoreConflict(Exception):
    """Rows a merge moved no longer point where the merge left them."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def rows_restore(*, moves: Iterable[tuple[str, str, str]], from_id: int, to_id: int) -> int:
    """Point each (model label, pk, field) back from ``from_id`` to ``to_id``.

    All or nothing: every row must still exist and still point at ``from_id``; otherwise the
    restoration would not be exact, and ``RestoreConflict`` names the rows (the caller's
    transaction then rolls back).
    """
    grouped: dict[tuple[str, str], list[str]] = {}
    for label, pk, field in moves:
        grouped.setdefault((label, field), []).append(pk)
    problems: list[str] = []
    restored = 0
    for (label, field_name), raw_pks in sorted(grouped.items()):
        model = apps.get_model(label)
        field = model._meta.get_field(field_name)
        attname = field.attname
        pks = [model._meta.pk.to_python(pk) for pk in raw_pks]
        manager = model._base_manager
        for chunk in _chunks(pks):
            in_place = set(manager.filter(pk__in=chunk, **{attname: from_id})
                           .values_list("pk", flat=True))
            missing = [pk for pk in chunk if pk not in in_place]
            if missing:
                problems.append(f"{label}.{field_name}: rows {missing[:10]} no longer point at "
                                "the survivor")
                continue
            try:
                with transaction.atomic():
                    restored += manager.filter(pk__in=chunk).update(**{attname: to_id})
            except IntegrityError as exc:
                problems.append(f"{label}.{field_name}: the database refused: {str(exc)[:120]}")
    if problems:
        raise RestoreConflict(problems)
    return restored
