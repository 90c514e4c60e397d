"""Users and teams, read-only over the API (admins change them on the Users page or the CLI)."""

from __future__ import annotations

from ninja import Router, Schema

from friday.accounts.selectors import team_list, user_get, user_list
from friday.core.http import AuthedRequest
from friday.core.schemas import ErrorOut, Id

router = Router(tags=["users"])


class TeamOut(Schema):
    id: int
    name: str
    description: str


class UserOut(Schema):
    id: int
    username: str
    display: str
    email: str
    role: str
    scope: str
    is_active: bool
    team_ids: list[int]

    @staticmethod
    def resolve_team_ids(obj) -> list[int]:
        return [t.pk for t in obj.teams.all()]


@router.get("/me", response=UserOut, summary="The signed-in user")
def me(request: AuthedRequest):
    return request.user


@router.get("/users", response=list[UserOut])
def users(request: AuthedRequest):
    return user_list(viewer=request.user)


@router.get("/users/{user_id}", response={200: UserOut, 404: ErrorOut})
def user(request: AuthedRequest, user_id: Id):
    return user_get(viewer=request.user, user_id=user_id)


@router.get("/teams", response=list[TeamOut])
def teams(request: AuthedRequest):
    return team_list(viewer=request.user)
