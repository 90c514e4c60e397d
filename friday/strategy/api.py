"""Goals over HTTP: the metric catalog, the goals with where each stands and its trend, and writing them (admins
and managers). Parse, authorise, call a service or selector."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Router, Schema, Status

from friday.accounts.selectors import user_get
from friday.core.errors import FridayError, NotFound
from friday.core.http import AuthedRequest
from friday.core.schemas import ErrorOut, Id, InSchema, Str20, Str40, Str200
from friday.strategy import metrics, selectors, services

router = Router(tags=["strategy"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class GoalIn(InSchema):
    title: Str200
    metric: Str40 = Field(description="A key of GET /goals/metrics")
    target: Decimal = Field(description="e.g. 90 (%), 50 (NPS), 2500.00 (money), 0 (reminders)")
    direction: Str20 = Field("at_least", description="at_least or at_most")
    period: Str20 = Field("month", description="month, quarter, year or rolling")
    rolling_days: int | None = Field(None, description="For a rolling period: its length in days (1–366)")
    params: dict[str, Any] = Field(default_factory=dict, description="What the metric takes (see its params)")
    owner_id: Id | None = Field(None, description="Who answers for it (default: you)")
    active: bool = True


class ActiveIn(InSchema):
    active: bool


class ParamOut(Schema):
    name: str
    label: str
    default: Any
    help: str


class MetricOut(Schema):
    key: str
    label: str
    unit: str
    kind: str = Field(description="total (paced over the period), ratio or level (compared as they stand)")
    how: str
    suggested_direction: str
    params: list[ParamOut]


class PointOut(Schema):
    label: str
    start: dt.date
    end: dt.date = Field(description="Exclusive; for the period in progress, tomorrow")
    value: Decimal | None
    status: str


class LinkOut(Schema):
    label: str
    url: str


class GoalOut(Schema):
    id: int
    title: str
    metric: str
    direction: str
    target: Decimal
    period: str
    rolling_days: int | None
    params: dict[str, Any]
    owner_id: int
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    value: Decimal | None = Field(description="The period in progress, to date")
    status: str = Field(description="met, on_track, at_risk, off_track or unknown (no figure)")
    trend: list[PointOut] = Field(description="The periods, oldest first; the last is the one in progress")
    links: list[LinkOut] = Field(description="What moves it")


def _out(s: selectors.Standing) -> dict[str, Any]:
    goal = s.goal
    return {
        "id": goal.pk,
        "title": goal.title,
        "metric": goal.metric,
        "direction": goal.direction,
        "target": goal.target,
        "period": goal.period,
        "rolling_days": goal.rolling_days,
        "params": goal.params,
        "owner_id": goal.owner_id,
        "active": goal.active,
        "created_at": goal.created_at,
        "updated_at": goal.updated_at,
        "value": s.value,
        "status": str(s.status),
        "trend": [
            {
                "label": p.span.label,
                "start": p.span.start,
                "end": p.span.upto,
                "value": p.value,
                "status": str(p.status),
            }
            for p in s.points
        ],
        "links": [{"label": link.label, "url": link.url} for link in s.links],
    }


def _data(request: AuthedRequest, payload: GoalIn) -> services.GoalIn:
    owner = None
    if payload.owner_id is not None:
        try:
            owner = user_get(viewer=request.user, user_id=payload.owner_id)
        except NotFound as exc:
            exc.field = "owner_id"
            raise
        if not owner.is_active:
            raise FridayError(
                "The owner must be an active colleague.", code="invalid.owner", field="owner_id"
            )
    return services.GoalIn(
        title=payload.title,
        metric=payload.metric,
        target=payload.target,
        direction=payload.direction,
        period=payload.period,
        rolling_days=payload.rolling_days,
        owner=owner,
        params=payload.params,
        active=payload.active,
    )


@router.get("/metrics", response=list[MetricOut], summary="The metrics a goal can be set on")
def metric_list(request: AuthedRequest):
    return [
        {
            "key": m.key,
            "label": m.label,
            "unit": m.unit,
            "kind": m.kind,
            "how": m.how,
            "suggested_direction": m.suggested_direction,
            "params": [
                {"name": p.name, "label": p.label, "default": p.default, "help": p.help} for p in m.params
            ],
        }
        for m in metrics.catalog()
    ]


@router.get("", response=list[GoalOut], summary="The goals, each with where it stands and its trend")
def goal_list(request: AuthedRequest, include_inactive: bool = False):
    # Worked out afresh (not the pages' five-minute copy): a client reads what it has just written.
    return [_out(s) for s in selectors.standings(include_inactive=include_inactive)]


@router.post("", response={201: GoalOut, **ERRORS}, summary="Write a goal (admins and managers)")
def goal_create(request: AuthedRequest, payload: GoalIn):
    goal = services.goal_save(by=request.user, data=_data(request, payload))
    return Status(201, _out(selectors.standing(goal)))


@router.get("/{goal_id}", response={200: GoalOut, **ERRORS})
def goal_get(request: AuthedRequest, goal_id: Id):
    return _out(selectors.standing(selectors.goal_get(goal_id=goal_id)))


@router.put("/{goal_id}", response={200: GoalOut, **ERRORS}, summary="Replace a goal (admins and managers)")
def goal_update(request: AuthedRequest, goal_id: Id, payload: GoalIn):
    goal = selectors.goal_get(goal_id=goal_id)
    return _out(
        selectors.standing(services.goal_save(by=request.user, goal=goal, data=_data(request, payload)))
    )


@router.post("/{goal_id}/active", response={200: GoalOut, **ERRORS}, summary="Switch a goal off or back on")
def goal_active(request: AuthedRequest, goal_id: Id, payload: ActiveIn):
    goal = selectors.goal_get(goal_id=goal_id)
    return _out(
        selectors.standing(services.goal_set_active(by=request.user, goal=goal, active=payload.active))
    )
