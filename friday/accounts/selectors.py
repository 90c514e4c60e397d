"""Reads of users and teams. Every signed-in user may see colleagues' names, roles and teams."""

from __future__ import annotations

from django.db.models import QuerySet

from friday.accounts.models import ApiToken, Team, User
from friday.core.errors import NotFound
from friday.core.ids import valid_id


def user_list(*, viewer: User, include_inactive: bool = False) -> QuerySet[User]:
    qs = User.objects.prefetch_related("teams").order_by("username")
    if not (include_inactive and viewer.is_admin):
        qs = qs.filter(is_active=True)
    return qs


def user_get(*, viewer: User, user_id: int) -> User:
    user = (
        user_list(viewer=viewer, include_inactive=True).filter(pk=user_id).first()
        if valid_id(user_id)
        else None
    )
    if user is None:
        raise NotFound("No such user.", code="user.not_found")
    return user


def team_list(*, viewer: User) -> QuerySet[Team]:
    return Team.objects.order_by("name")


def team_get(*, viewer: User, team_id: int) -> Team:
    team = Team.objects.filter(pk=team_id).first() if valid_id(team_id) else None
    if team is None:
        raise NotFound("No such team.", code="team.not_found")
    return team


def token_list(*, viewer: User) -> QuerySet[ApiToken]:
    qs = ApiToken.objects.select_related("user").order_by("-created_at")
    return qs if viewer.is_admin else qs.filter(user=viewer)


def token_get(*, viewer: User, token_id: int) -> ApiToken:
    token = token_list(viewer=viewer).filter(pk=token_id).first() if valid_id(token_id) else None
    if token is None:
        raise NotFound("No such token.", code="token.not_found")
    return token


def acting_user(username: str | None) -> User:
    """Who a command-line change is made by: the named active user, or the first admin. NotFound says which."""
    from friday.accounts.models import Role

    users = User.objects.filter(is_active=True)
    user = (
        users.filter(username=username).first()
        if username
        else users.filter(role=Role.ADMIN).order_by("pk").first()
    )
    if user is None:
        raise NotFound(
            f"No active user {username!r}." if username else "Create an admin first: friday createadmin",
            code="user.not_found",
        )
    return user
