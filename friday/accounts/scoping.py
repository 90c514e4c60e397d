"""Who may see what: one place turns a user's role and scope into a filter every selector applies."""

from __future__ import annotations

from django.db.models import Q

from friday.accounts.models import Scope, User
from friday.core.errors import PermissionDenied


def visible_q(user: User, *, owner: str = "owner", team: str = "team") -> Q:
    """The rows `user` may see, for a model with an owner (user) and a team column."""
    if not user.is_active:
        return Q(pk__in=[])
    if user.sees_all:
        return Q()
    own = Q(**{f"{owner}_id": user.pk})
    if user.scope == Scope.OWN:
        return own
    return own | Q(**{f"{team}_id__in": user.teams.through.objects.filter(user_id=user.pk).values("team_id")})


def totals_q(user: User, *, owner: str = "owner", team: str = "team") -> Q:
    """`visible_q` for sums and counts: the user's teams as a literal list, so PostgreSQL combines the owner and team
    indexes (BitmapOr) instead of scanning. Not for newest-first pages: there SQLite would then gather every visible
    row and sort it, where the subquery lets it walk a time index and stop after a page."""
    if not user.is_active or user.sees_all or user.scope == Scope.OWN:
        return visible_q(user, owner=owner, team=team)
    teams = list(user.teams.through.objects.filter(user_id=user.pk).values_list("team_id", flat=True))
    return Q(**{f"{owner}_id": user.pk}) | Q(**{f"{team}_id__in": teams})


def require_write(user: User) -> None:
    if not user.can_write:
        raise PermissionDenied(
            "Your role is read-only: you can look but not change anything.", code="permission.read_only"
        )


def require_admin(user: User) -> None:
    if not user.is_admin:
        raise PermissionDenied("Only an admin can do this.", code="permission.admin_only")
