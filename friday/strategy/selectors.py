"""Reads of goals and where each stands: the figure now, the periods before it (the trend), the status, and what
moves it. Every colleague may read the goals (they are the business's); only admins and managers change them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.core.cache import cache
from django.db.models import OuterRef, QuerySet, Subquery

from friday.core import clock
from friday.core.errors import NotFound
from friday.core.ids import valid_id
from friday.strategy import metrics, periods
from friday.strategy.models import Goal, GoalReading, Status
from friday.strategy.status import judge, worse

TREND = 6  # periods shown: the one in progress and the five before it
CACHE_KEY = "strategy:standings"
CACHE_SECONDS = 300


def goals_exist() -> bool:
    """Whether the business has written any goal yet (the guided first run's "first goals" step)."""
    return Goal.objects.filter(active=True).exists()


def goal_list(*, include_inactive: bool = False) -> QuerySet[Goal]:
    qs = Goal.objects.select_related("owner")
    return qs if include_inactive else qs.filter(active=True)


def goal_get(*, goal_id: int) -> Goal:
    goal = Goal.objects.select_related("owner").filter(pk=goal_id).first() if valid_id(goal_id) else None
    if goal is None:
        raise NotFound("No such goal.", code="goal.not_found")
    return goal


@dataclass
class Point:
    span: periods.Span
    value: Decimal | None
    status: Status


@dataclass
class Standing:
    goal: Goal
    metric: metrics.Metric | None
    points: list[Point]  # oldest first; the last is the period in progress
    links: list[metrics.Link]

    @property
    def now(self) -> Point:
        return self.points[-1]

    @property
    def value(self) -> Decimal | None:
        return self.now.value

    @property
    def status(self) -> Status:
        return self.now.status

    @property
    def elapsed_percent(self) -> int:
        return round(100 * self.now.span.elapsed)

    def _top(self) -> Decimal:
        values = [abs(p.value) for p in self.points if p.value is not None]
        return max([*values, abs(self.goal.target), Decimal(1)])

    @property
    def bars(self) -> list[dict[str, object]]:
        """The trend drawn as bars (inline SVG, 56 px high, 30 px a period), each a share of the largest figure
        or the target, whichever is bigger, so the target's line fits too."""
        top = self._top()
        out = []
        for i, p in enumerate(self.points):
            h = 0.0 if p.value is None else round(float(56 * abs(p.value) / top), 1)
            out.append(
                {"point": p, "x": 4 + 30 * i, "y": round(58 - h, 1), "h": h, "fill": BAR_FILL[p.status]}
            )
        return out

    @property
    def target_y(self) -> float:
        return round(58 - float(56 * abs(self.goal.target) / self._top()), 1)

    @property
    def width(self) -> int:
        return 8 + 30 * len(self.points)


BAR_FILL = {
    Status.MET: "var(--ok)",
    Status.ON_TRACK: "var(--accent)",
    Status.AT_RISK: "#c98a00",
    Status.OFF_TRACK: "var(--bad)",
    Status.UNKNOWN: "var(--line)",
}


def _spans(goal: Goal, today: dt.date, count: int) -> list[periods.Span]:
    return periods.spans(goal.period, count=count, today=today, rolling_days=goal.rolling_days)


def standing(
    goal: Goal,
    *,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    count: int = TREND,
    with_links: bool = True,
) -> Standing:
    """Where `goal` stands on `today` (default: now): its metric over the last `count` periods, in the metric's
    grouped queries (a handful per goal, whatever the number of periods or days). `now` is the moment a level
    metric is counted at (the end of `today` for a day gone by)."""
    real_now = clock.now()
    today = today or clock.local_date(real_now)
    if now is None:
        now = (
            real_now
            if today >= clock.local_date(real_now)
            else periods.start_of(today + dt.timedelta(days=1))
        )
    metric = metrics.get(goal.metric)
    spans = _spans(goal, today, count)
    if metric is None:  # a metric that left the catalog: shown, with no figure
        return Standing(goal, None, [Point(s, None, Status.UNKNOWN) for s in spans], [])
    ask = metrics.Ask(params=goal.params or {}, now=now, period=goal.period, rolling_days=goal.rolling_days)
    values = metric.compute(spans, ask)
    points = [
        Point(
            span,
            value,
            judge(
                value=value,
                target=goal.target,
                direction=goal.direction,
                kind=metric.kind,
                elapsed=span.elapsed if not span.complete else Fraction(1),
            ),
        )
        for span, value in zip(spans, values, strict=True)
    ]
    return Standing(goal, metric, points, metric.links(goal.params or {}) if with_links else [])


def standings(*, include_inactive: bool = False) -> list[Standing]:
    """Every goal and where it stands (active first). Goals are few (services.MAX_ACTIVE caps the active ones)."""
    return [
        standing(goal) if goal.active else standing(goal, count=1, with_links=False)
        for goal in goal_list(include_inactive=include_inactive)
    ]


def standings_cached() -> list[Standing]:
    """`standings` of every goal, kept for CACHE_SECONDS: the Strategy page and the home page read them (a goal's
    figure is the business's, the same for everyone). Retention over 200,000 invoices takes about half a second on
    SQLite; a change of a goal drops them at once (services)."""
    found = cache.get(CACHE_KEY)
    if found is None:
        found = standings(include_inactive=True)
        cache.set(CACHE_KEY, found, CACHE_SECONDS)
    return found


def statuses_on(day: dt.date) -> dict[int, str]:
    """Each goal's status in its reading of `day` (goal id → status); one query."""
    return dict(GoalReading.objects.filter(day=day).values_list("goal_id", "status"))


@dataclass
class Slip:
    goal: Goal
    value: Decimal | None
    status: str
    before: str  # the status it had


def slipped(*, since: dt.date, known: dict[str, str] | None = None) -> tuple[list[Slip], dict[str, str]]:
    """Active goals whose status now is worse than it was: than in `known` (goal id → status, as the last digest
    saw them) when given, else than their reading on the day `since` (or the latest before it). "Now" is today's
    reading (refreshed hourly), or the goal computed afresh when there is none yet. Returns the slips, and every
    goal's status now (for the next comparison)."""
    today = clock.today()
    goals = list(goal_list())
    if not goals:
        return [], {}
    latest: dict[int, tuple[Decimal | None, str]] = {}
    before: dict[str, str] = dict(known or {})
    for goal_id, value, status in GoalReading.objects.filter(goal__in=goals, day=today).values_list(
        "goal_id", "value", "status"
    ):
        latest[goal_id] = (value, status)
    if known is None:
        # Each goal's reading on `since`, or the latest before it: one query, not the whole history.
        last_day = (
            GoalReading.objects.filter(goal_id=OuterRef("pk"), day__lte=since)
            .order_by("-day")
            .values("status")[:1]
        )
        for goal_id, status in (
            Goal.objects.filter(pk__in=[g.pk for g in goals])
            .annotate(was=Subquery(last_day))
            .values_list("pk", "was")
        ):
            if status is not None:
                before[str(goal_id)] = status
    found: list[Slip] = []
    now_status: dict[str, str] = {}
    for goal in goals:
        if goal.pk in latest:
            value, status = latest[goal.pk]
        else:
            fresh = standing(goal, count=1, with_links=False)
            value, status = fresh.value, fresh.status
        now_status[str(goal.pk)] = status
        was = before.get(str(goal.pk))
        if was is not None and worse(status, was):
            found.append(Slip(goal, value, status, was))
    return found, now_status
