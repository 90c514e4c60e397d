"""The home page at a glance, for the signed-in user and what they may see: today's and overdue reminders,
escalations, customers at risk with why, the pipeline and the jobs by stage, overdue invoices, the four corners
of this month, and whether the processes are followed. Each tile links to the list behind it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Sum

from friday.accounts.models import User
from friday.accounts.scoping import totals_q
from friday.billing.models import Invoice, open_invoices
from friday.core import business, clock
from friday.core.money import round_money
from friday.deals.models import Deal
from friday.insights import adoption, corners, selectors
from friday.jobs.selectors import jobs_visible
from friday.processes.models import Process, RecordType
from friday.reminders.models import ACTIVE
from friday.reminders.selectors import my_day, reminders_visible

TOP = 5


@dataclass
class Bar:
    label: str
    count: int
    value: Decimal | None
    url: str
    percent: int = 0


@dataclass
class Board:
    process: Process
    bars: list[Bar] = field(default_factory=list)
    total_count: int = 0
    total_value: Decimal = Decimal(0)


def _board(process: Process, qs: Any, value_field: str | None, url: str) -> Board:
    assert process.current is not None
    home = business.currency()
    aggregates: dict[str, Any] = {"n": Count("id")}
    if value_field:
        aggregates["total"] = Sum(value_field, filter=None)
    rows = {
        r["stage"]: r
        for r in qs.filter(process=process, closed_at__isnull=True, currency=home)
        .values("stage")
        .annotate(**aggregates)
        .order_by()
    }
    board = Board(process=process)
    for stage in process.current.definition.stages:
        if stage.terminal:
            continue
        row = rows.get(stage.key, {})
        value = round_money(Decimal(row.get("total") or 0), home) if value_field else None
        board.bars.append(
            Bar(stage.name, row.get("n", 0), value, f"{url}?process={process.key}&stage={stage.key}")
        )
    biggest = max((b.count for b in board.bars), default=0)
    for bar in board.bars:
        bar.percent = round(100 * bar.count / biggest) if biggest else 0
        board.total_count += bar.count
        board.total_value += bar.value or 0
    return board


HEALTH_SECONDS = 300


def process_health() -> list[dict[str, Any]]:
    """Per published process: the share of the last 30 days' moves that followed it, and the records stuck past a
    stage's time limit — counted as the adoption figures count them (`adoption.process_health`). The same for
    every manager: kept for five minutes."""
    found = cache.get("insights:process_health")
    if found is not None:
        return found
    out = adoption.process_health(days=30)
    cache.set("insights:process_health", out, HEALTH_SECONDS)
    return out


CORNERS_SECONDS = 300


def _corners(user: User, months: list[dt.date]) -> list[corners.Corners]:
    """The four corners of each month (first days given): they move slowly, so each user's are kept for five
    minutes (the dashboard says so). Today's lapsing customers are counted once for all of them."""
    key = f"insights:corners:{business.currency()}:{user.pk}:{':'.join(m.isoformat() for m in months)}"
    found = cache.get(key)
    if found is None:
        now = corners.lapsing(user)
        found = [
            corners.corners(user=user, start=m, end=corners.next_month(m), lapsing_now=now) for m in months
        ]
        cache.set(key, found, CORNERS_SECONDS)
    return found


def dashboard(*, user: User) -> dict[str, Any]:
    now, today = clock.now(), clock.today()
    day = my_day(user, limit=TOP)
    escalated = (
        reminders_visible(user)
        .filter(status__in=ACTIVE, remind_at__lt=now - dt.timedelta(days=1))
        .select_related("party", "assignee")
        .order_by("remind_at", "id")
    )
    deal_process = (
        Process.objects.filter(applies_to=RecordType.DEAL, current__isnull=False)
        .select_related("current")
        .first()
    )
    job_process = (
        Process.objects.filter(applies_to=RecordType.JOB, current__isnull=False)
        .select_related("current")
        .first()
    )
    overdue = open_invoices(
        Invoice.objects.filter(totals_q(user, owner="party__owner", team="party__team"))
    ).filter(due_date__lt=today, currency=business.currency())
    overdue_sum = overdue.aggregate(n=Count("id"), total=Sum("balance"))
    this_month = corners.month_start(today)
    last_month = corners.month_start(this_month - dt.timedelta(days=1))
    health = process_health() if user.can_edit_processes else []  # it counts everyone's records
    now_corners, before_corners = _corners(user, [this_month, last_month])
    return {
        "day": day,
        "escalated": list(escalated[:TOP]),
        "escalated_count": escalated[:1000].count(),
        "at_risk": selectors.at_risk(user=user, limit=TOP).items,
        "pipeline": _board(deal_process, Deal.objects.filter(totals_q(user)), "value", "/deals/")
        if deal_process
        else None,
        "jobs": _board(job_process, jobs_visible(user), None, "/jobs/") if job_process else None,
        "overdue_count": overdue_sum["n"],
        "overdue_total": round_money(Decimal(overdue_sum["total"] or 0), business.currency()),
        "corners": now_corners,
        "corners_before": before_corners,
        "health": health,
        "currency": business.currency(),
    }
