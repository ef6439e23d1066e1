"""Creating agencies, teams, users and API tokens (set-up, demo data, tests)."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction

from reachable.audit.services import Actor, audit_append
from reachable.organisations.models import Agency, AgencyToken, Team, User


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def agency_create(
    *, actor: Actor | None, code: str, name: str, kind: str, police_force: str = ""
) -> Agency:
    agency = Agency.objects.create(code=code, name=name, kind=kind, police_force=police_force)
    audit_append(actor=actor, action="agency.created", object_type="agency", object_id=agency.pk,
                 detail={"code": code, "kind": kind})
    return agency


@transaction.atomic
def team_create(*, actor: Actor | None, code: str, name: str, kind: str, agency: Agency) -> Team:
    team = Team.objects.create(code=code, name=name, kind=kind, agency=agency)
    audit_append(actor=actor, action="team.created", object_type="team", object_id=team.pk,
                 detail={"code": code, "kind": kind, "agency": agency.code})
    return team


@transaction.atomic
def user_create(
    *,
    actor: Actor | None,
    username: str,
    password: str | None,
    role: str,
    agency: Agency | None,
    team: Team | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    manages_team: bool = False,
) -> User:
    user = User(username=username, role=role, agency=agency, team=team,
                first_name=first_name, last_name=last_name, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if manages_team and team is not None:
        team.manager = user
        team.save(update_fields=["manager"])
    audit_append(actor=actor, action="user.created", object_type="user", object_id=user.pk,
                 detail={"username": username, "role": role,
                         "agency": agency.code if agency else None,
                         "team": team.code if team else None})
    return user


@transaction.atomic
def agency_token_create(*, actor: Actor | None, user: User, name: str) -> str:
    """Issue a token and return the key; only its hash is kept, so it cannot be shown again."""
    key = "rch_" + secrets.token_urlsafe(32)
    AgencyToken.objects.create(user=user, name=name, key_hash=hash_token_key(key), prefix=key[:8])
    audit_append(actor=actor, action="token.created", object_type="user", object_id=user.pk,
                 detail={"name": name, "prefix": key[:8]})
    return key
