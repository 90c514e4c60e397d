"""The Strategy page: the business's goals, where each stands, its trend (drawn, with its numbers), what moves
it; the goal form (admins and managers); the goals as CSV. The dashboard's goals strip is built here too."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from friday.core import clock
from friday.core.csvout import csv_response
from friday.core.errors import FridayError, ValidationFailed
from friday.core.http import AuthedRequest
from friday.strategy import metrics, selectors, services
from friday.strategy.forms import GoalForm
from friday.strategy.models import Goal, Status
from friday.strategy.status import worse


def dashboard_goals() -> list[selectors.Standing]:
    """The active goals for the top of the home page: the Strategy page's figures (up to five minutes old)."""
    return [s for s in selectors.standings_cached() if s.goal.active]


@login_required
def index(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    """Every goal with its figure, target, status, trend and links. `?format=csv`: the goals and their trends."""
    found = selectors.standings_cached()
    if request.GET.get("format") == "csv":
        return _csv([s for s in found if s.goal.active])
    yesterday = selectors.statuses_on(clock.today() - dt.timedelta(days=1))
    labels = dict(Status.choices)
    return render(
        request,
        "strategy/index.html",
        {
            "active": [
                {
                    "s": s,
                    "slipped_from": labels[Status(yesterday[s.goal.pk])]
                    if s.goal.pk in yesterday and worse(s.status, yesterday[s.goal.pk])
                    else "",
                }
                for s in found
                if s.goal.active
            ],
            "inactive": [s for s in found if not s.goal.active],
            "can_edit": request.user.can_edit_processes,
            "catalog": metrics.catalog(),
        },
    )


def _csv(found: list[selectors.Standing]) -> StreamingHttpResponse:
    rows: list[list[Any]] = []
    for s in found:
        for p in s.points:
            rows.append(
                [
                    s.goal.title,
                    s.metric.label if s.metric else s.goal.metric,
                    s.goal.get_direction_display(),
                    s.goal.target,
                    s.goal.get_period_display(),
                    p.span.label,
                    p.span.start,
                    p.span.upto,
                    p.value,
                    p.status.label,
                    s.goal.owner.display,
                ]
            )
    return csv_response(
        "goals.csv",
        [
            "goal",
            "metric",
            "direction",
            "target",
            "period",
            "period label",
            "from",
            "to (exclusive)",
            "value",
            "status",
            "owner",
        ],
        rows,
    )


@login_required
def goal_detail(request: AuthedRequest, goal_id: int) -> HttpResponse:
    goal = selectors.goal_get(goal_id=goal_id)
    readings = list(goal.readings.order_by("-day")[:30])
    return render(
        request,
        "strategy/detail.html",
        {
            "s": selectors.standing(goal),
            "readings": readings,
            "can_edit": request.user.can_edit_processes,
        },
    )


def _form_errors(form: GoalForm, exc: FridayError) -> None:
    for e in exc.errors if isinstance(exc, ValidationFailed) else [exc]:
        form.add_error(form.field_for(e.field), e.detail)


def _save(request: AuthedRequest, form: GoalForm, goal: Goal | None) -> HttpResponse | None:
    data = form.cleaned_data
    goal_in = services.GoalIn(
        title=data["title"],
        metric=data["metric"],
        target=data["target"],
        direction=data["direction"],
        period=data["period"],
        rolling_days=data.get("rolling_days") or None,
        owner=data.get("owner"),
        params=form.params(),
        active=bool(data.get("active")),
    )
    try:
        saved = services.goal_save(by=request.user, data=goal_in, goal=goal)
    except FridayError as exc:
        _form_errors(form, exc)
        return None
    messages.success(request, f"The goal “{saved.title}” was saved.")
    return redirect("strategy:index")


@login_required
@require_http_methods(["GET", "POST"])
def goal_new(request: AuthedRequest) -> HttpResponse:
    services.require_goal_editor(request.user)
    initial: dict[str, Any] = {"owner": request.user.pk, "active": True}
    metric = metrics.get(request.GET.get("metric", ""))
    if metric is not None:
        initial.update(metric=metric.key, direction=metric.suggested_direction)
    form = GoalForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        response = _save(request, form, None)
        if response:
            return response
    return render(
        request,
        "strategy/form.html",
        {"form": form, "creating": True, "catalog": metrics.catalog()},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def goal_edit(request: AuthedRequest, goal_id: int) -> HttpResponse:
    goal = selectors.goal_get(goal_id=goal_id)
    services.require_goal_editor(request.user)
    params = goal.params or {}
    initial = {
        "title": goal.title,
        "metric": goal.metric,
        "direction": goal.direction,
        "target": goal.target,
        "period": goal.period,
        "rolling_days": goal.rolling_days or "",
        "owner": goal.owner_id,
        "param_stage": params.get("stage", ""),
        "param_days": params.get("days", ""),
        "active": goal.active,
    }
    form = GoalForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        response = _save(request, form, goal)
        if response:
            return response
    return render(
        request,
        "strategy/form.html",
        {"form": form, "goal": goal, "catalog": metrics.catalog()},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def goal_active(request: AuthedRequest, goal_id: int) -> HttpResponse:
    """Switch a goal off (kept with its readings) or back on."""
    goal = selectors.goal_get(goal_id=goal_id)
    active = request.POST.get("active") == "on"
    try:
        services.goal_set_active(by=request.user, goal=goal, active=active)
    except FridayError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"“{goal.title}” is {'back on' if active else 'switched off'}.")
    return redirect("strategy:index")
