"""The only write path for goals (validated; admins and managers only) and their daily readings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import transaction

from friday.accounts.models import User
from friday.core import clock
from friday.core.errors import Collector, FridayError, PermissionDenied
from friday.core.events import event_emit
from friday.strategy import metrics, selectors
from friday.strategy.models import Direction, Goal, GoalReading, Period

MAX_ACTIVE = 20  # "a few goals": the page and the dashboard compute each one
MAX_ROLLING_DAYS = 366
TARGET_LIMIT = Decimal("9999999999999.99")
CATCH_UP_DAYS = 7  # after downtime, readings are written for at most this many missed days


def require_goal_editor(user: User) -> None:
    if not user.can_edit_processes:
        raise PermissionDenied("Only an admin or a manager can change goals.", code="permission.goal_editor")


@dataclass
class GoalIn:
    title: str
    metric: str
    target: Any
    direction: str = Direction.AT_LEAST
    period: str = Period.MONTH
    rolling_days: Any = None
    owner: User | None = None
    params: dict[str, Any] = field(default_factory=dict)
    active: bool = True


def _target(value: Any, errors: Collector) -> Decimal | None:
    text = str(value if value is not None else "").replace(",", "").strip()
    try:
        number = Decimal(text)
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or "e" in text.lower():
        errors.add("target", "The target is a number, e.g. 90 or 2500.00.", code="invalid.decimal")
        return None
    if abs(number) > TARGET_LIMIT:
        errors.add("target", "The target is too large.", code="invalid.too_large")
        return None
    if number != number.quantize(Decimal("0.01")):
        errors.add("target", "The target has at most 2 decimal places.", code="invalid.decimal")
        return None
    return number.quantize(Decimal("0.01"))


def clean_goal(data: GoalIn) -> dict[str, Any]:
    """Everything about a goal that can be wrong, each by its path (title, metric, target, params.stage …)."""
    errors = Collector()
    title = " ".join((data.title or "").split())
    if not title or len(title) > 200 or "\x00" in title:
        errors.add("title", "Give the goal a title of at most 200 characters.", code="invalid.required")
    metric = metrics.get(data.metric) if isinstance(data.metric, str) else None
    if metric is None:
        keys = ", ".join(m.key for m in metrics.catalog())
        errors.add("metric", f"Pick a metric from the catalog: {keys}.", code="invalid.metric")
    target = _target(data.target, errors)
    if data.direction not in Direction.values:
        errors.add("direction", "The direction is at_least or at_most.", code="invalid.direction")
    if data.period not in Period.values:
        errors.add("period", "The period is month, quarter, year or rolling.", code="invalid.period")
    rolling_days = None
    if data.period == Period.ROLLING:
        text = str(data.rolling_days if data.rolling_days is not None else "").strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_ROLLING_DAYS:
            errors.add(
                "rolling_days",
                f"A rolling period is a whole number of days from 1 to {MAX_ROLLING_DAYS}.",
                code="invalid.rolling_days",
            )
        else:
            rolling_days = int(text)
    if data.owner is not None and not data.owner.is_active:
        errors.add("owner", "The owner must be an active colleague.", code="invalid.owner")
    params: dict[str, Any] = {}
    given = data.params if isinstance(data.params, dict) else {}
    if not isinstance(data.params, dict):
        errors.add("params", "Parameters are an object of names and values.", code="invalid.params")
    if metric is not None:
        known = {p.name for p in metric.params}
        for name in given:
            if name not in known:
                errors.add(
                    f"params.{name}", f"{metric.label} takes no parameter {name!r}.", code="invalid.param"
                )
        for param in metric.params:
            raw = given.get(param.name)
            if raw is None or raw == "":
                raw = param.default
            try:
                params[param.name] = param.clean(raw)
            except FridayError as exc:
                errors.add(f"params.{param.name}", exc.detail, code=exc.code)
    errors.raise_if_any()
    return {
        "title": title,
        "metric": data.metric,
        "target": target,
        "direction": data.direction,
        "period": data.period,
        "rolling_days": rolling_days,
        "params": params,
    }


def _check_active_count(goal: Goal | None) -> None:
    others = Goal.objects.filter(active=True)
    if goal is not None and goal.pk:
        others = others.exclude(pk=goal.pk)
    # Two saves at once each counting 19: the first locks the active goals, the second waits for its commit
    # and then counts its new goal too (SQLite's writes are one at a time already).
    list(others.select_for_update().values_list("pk", flat=True))
    if others.count() >= MAX_ACTIVE:
        raise FridayError(
            f"A business keeps at most {MAX_ACTIVE} goals at once: switch one off first.",
            code="goal.too_many",
            field="active",
        )


@transaction.atomic
def goal_save(*, by: User, data: GoalIn, goal: Goal | None = None) -> Goal:
    """Create or change a goal (admins and managers). Refused, each problem by its path, when malformed."""
    require_goal_editor(by)
    clean = clean_goal(data)
    if data.active and (goal is None or not goal.active):
        _check_active_count(goal)
    now = clock.now()
    created = goal is None
    if goal is None:
        goal = Goal(created_at=now, created_by=by, owner=data.owner or by)
    else:
        goal = Goal.objects.select_for_update().get(pk=goal.pk)
        if data.owner is not None:
            goal.owner = data.owner
    for name, value in clean.items():
        setattr(goal, name, value)
    goal.active = data.active
    goal.updated_at, goal.updated_by = now, by
    goal.save()
    transaction.on_commit(lambda: cache.delete(selectors.CACHE_KEY))
    event_emit(
        name="goal.created" if created else "goal.updated",
        subject=goal,
        actor=by,
        payload={"metric": goal.metric, "target": str(goal.target), "active": goal.active},
    )
    return goal


@transaction.atomic
def goal_set_active(*, by: User, goal: Goal, active: bool) -> Goal:
    """Switch a goal off (kept, with its readings, out of the page's figures, the dashboard and the digest) or
    back on."""
    require_goal_editor(by)
    goal = Goal.objects.select_for_update().get(pk=goal.pk)
    if goal.active == active:
        return goal
    if active:
        _check_active_count(goal)
    goal.active, goal.updated_at, goal.updated_by = active, clock.now(), by
    goal.save(update_fields=["active", "updated_at", "updated_by"])
    transaction.on_commit(lambda: cache.delete(selectors.CACHE_KEY))
    event_emit(name="goal.updated", subject=goal, actor=by, payload={"active": active})
    return goal


@dataclass
class ReadingsResult:
    written: int
    days: list[dt.date]


def readings_write(*, now: dt.datetime | None = None) -> ReadingsResult:
    """Today's reading of every active goal (replaced: the last one of the day stands), and the readings of the
    days missed since the last one (at most CATCH_UP_DAYS back; a past day's reading, once written, is kept).
    Safe to run twice at once: a day's row is unique per goal, and a past day is only ever inserted."""
    now = now or clock.now()
    today = clock.local_date(now)
    written = 0
    days: set[dt.date] = set()
    for goal in selectors.goal_list():
        last = (
            GoalReading.objects.filter(goal=goal, day__lt=today)
            .order_by("-day")
            .values_list("day", flat=True)
            .first()
        )
        first = max(
            (last + dt.timedelta(days=1)) if last else clock.local_date(goal.created_at),
            today - dt.timedelta(days=CATCH_UP_DAYS),
        )
        day = first
        while day < today:  # the days missed: each judged as it stood at its end
            s = selectors.standing(goal, today=day, count=1, with_links=False)
            _, made = GoalReading.objects.get_or_create(
                goal=goal,
                day=day,
                defaults={"value": s.value, "target": goal.target, "status": s.status, "at": now},
            )
            written += made
            days.add(day)
            day += dt.timedelta(days=1)
        s = selectors.standing(goal, today=today, now=now, count=1, with_links=False)
        GoalReading.objects.update_or_create(
            goal=goal,
            day=today,
            defaults={"value": s.value, "target": goal.target, "status": s.status, "at": now},
        )
        written += 1
        days.add(today)
    return ReadingsResult(written, sorted(days))
