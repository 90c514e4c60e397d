"""The four corners of a period: revenue, costs, profitability, and the cost of lost opportunity.

- revenue: paid invoices (before tax), by the day they were paid in full;
- costs: job and party costs incurred in the period;
- profit: revenue − costs, and the margin;
- lost opportunity: the value of deals lost in the period, and the yearly value of the customers now lapsing
  (the average of their last two years' revenue).
Amounts are in the business's currency; other currencies are left out (as in the customer figures).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum

from friday.accounts.models import User
from friday.billing.models import Invoice, InvoiceKind, InvoiceStatus
from friday.core import clock
from friday.core.money import round_money
from friday.deals.models import Deal
from friday.insights.models import CustomerMetrics
from friday.insights.selectors import scoped
from friday.jobs.models import Cost
from friday.processes.models import Process, RecordType


@dataclass
class Corners:
    start: dt.date
    end: dt.date  # exclusive
    currency: str
    revenue: Decimal
    costs: Decimal
    lost_deals: Decimal
    lost_deals_count: int
    lapsing_value: Decimal
    lapsing_count: int

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.costs

    @property
    def margin_percent(self) -> Decimal | None:
        return (100 * self.profit / self.revenue).quantize(Decimal("0.1")) if self.revenue else None

    @property
    def lost_opportunity(self) -> Decimal:
        return self.lost_deals + self.lapsing_value


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=clock.business_tz())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def corners(*, user: User, start: dt.date, end: dt.date) -> Corners:
    """The four corners for [start, end), over the parties the user may see."""
    home = settings.FRIDAY_CURRENCY
    since, until = _start_of(start), _start_of(end)
    revenue = (
        scoped(Invoice.objects, user)
        .filter(
            paid_at__gte=since,
            paid_at__lt=until,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.PAID,
            currency=home,
        )
        .aggregate(total=Sum("subtotal"))["total"]
        or 0
    )
    costs = (
        scoped(Cost.objects, user)
        .filter(currency=home, incurred_on__gte=start, incurred_on__lt=end)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    lost_stages: set[str] = set()
    for process in Process.objects.filter(applies_to=RecordType.DEAL):
        for version in process.versions.all():
            lost_stages |= {s.key for s in version.definition.stages if s.kind == "lost"}
    lost_deals = scoped(Deal.objects, user).filter(
        closed_at__gte=since, closed_at__lt=until, stage__in=lost_stages
    )
    lost = lost_deals.filter(currency=home).aggregate(total=Sum("value"))
    lapsing = (
        scoped(CustomerMetrics.objects, user)
        .filter(lapsing=True)
        .aggregate(n=Count("party"), total=Sum("yearly_value"))
    )
    return Corners(
        start=start,
        end=end,
        currency=home,
        revenue=round_money(Decimal(revenue), home),
        costs=round_money(Decimal(costs), home),
        lost_deals=round_money(Decimal(lost["total"] or 0), home),
        lost_deals_count=lost_deals.count(),
        lapsing_value=round_money(Decimal(lapsing["total"] or 0), home),
        lapsing_count=lapsing["n"],
    )


@dataclass
class Month:
    start: dt.date
    revenue: Decimal
    costs: Decimal
    lost_deals: Decimal

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.costs


@dataclass
class Breakdown:
    label: str
    count: int
    value: Decimal


def _monthly(qs: Any, field: str, value: str, starts: list[dt.date], *, dates: bool = False) -> list[Decimal]:
    """One pass over `qs` (already narrowed to the whole range by an indexed condition) summing `value` per month
    with a conditional sum for each: one query, whatever the number of months."""
    bounds = [*starts, next_month(starts[-1])]
    sums = {
        f"m{i}": Sum(
            value,
            filter=Q(
                **{
                    f"{field}__gte": lo if dates else _start_of(lo),
                    f"{field}__lt": hi if dates else _start_of(hi),
                }
            ),
        )
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    }
    row = qs.aggregate(**sums)
    return [Decimal(row[f"m{i}"] or 0) for i in range(len(starts))]


def trend(*, user: User, months: int = 12, today: dt.date | None = None) -> list[Month]:
    """The corners month by month, oldest first, ending with this month: one query per corner, not per month."""
    home = settings.FRIDAY_CURRENCY
    today = today or clock.today()
    first = month_start(today)
    for _ in range(months - 1):
        first = month_start(first - dt.timedelta(days=1))
    starts = [first]
    while len(starts) < months:
        starts.append(next_month(starts[-1]))
    end = next_month(starts[-1])
    since, until = _start_of(first), _start_of(end)
    revenue = _monthly(
        scoped(Invoice.objects, user).filter(
            paid_at__gte=since,
            paid_at__lt=until,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.PAID,
            currency=home,
        ),
        "paid_at",
        "subtotal",
        starts,
    )
    costs = _monthly(
        scoped(Cost.objects, user).filter(currency=home, incurred_on__gte=first, incurred_on__lt=end),
        "incurred_on",
        "amount",
        starts,
        dates=True,
    )
    lost = _monthly(_lost_deals(user, since, until).filter(currency=home), "closed_at", "value", starts)
    return [
        Month(s, round_money(r, home), round_money(c, home), round_money(ld, home))
        for s, r, c, ld in zip(starts, revenue, costs, lost, strict=True)
    ]


def _lost_deals(user: User, since: dt.datetime, until: dt.datetime) -> Any:
    """Deals lost in [since, until): by pipeline first, so the board's (process, closed_at …) index serves it."""
    processes = list(Process.objects.filter(applies_to=RecordType.DEAL).values_list("pk", flat=True))
    return scoped(Deal.objects, user).filter(
        process__in=processes, closed_at__gte=since, closed_at__lt=until, stage__in=_lost_stages()
    )


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.astimezone(clock.business_tz()).date() if isinstance(value, dt.datetime) else value


def _lost_stages() -> set[str]:
    stages: set[str] = set()
    for process in Process.objects.filter(applies_to=RecordType.DEAL):
        for version in process.versions.all():
            stages |= {s.key for s in version.definition.stages if s.kind == "lost"}
    return stages


def lost_by(*, user: User, start: dt.date, end: dt.date, by: str) -> list[Breakdown]:
    """Deals lost in [start, end) by reason, by the stage they were lost from, or by owner, biggest value first."""
    home = settings.FRIDAY_CURRENCY
    since, until = _start_of(start), _start_of(end)
    qs = _lost_deals(user, since, until).filter(currency=home)
    if by == "stage":  # the stage each was in before: the from-stage of its move into a lost stage
        from friday.processes.models import StageChange

        values = dict(qs.values_list("pk", "value"))
        totals: dict[str, Breakdown] = {}
        moves = StageChange.objects.filter(
            process__applies_to=RecordType.DEAL, to_stage__in=_lost_stages(), at__gte=since, at__lt=until
        ).values_list("record_id", "from_stage")
        seen: set[int] = set()
        for pk, source in moves.iterator(chunk_size=5000):
            if pk not in values or pk in seen:
                continue
            seen.add(pk)
            item = totals.setdefault(source or "—", Breakdown(source or "—", 0, Decimal(0)))
            item.count += 1
            item.value += values[pk] or 0
        return sorted(totals.values(), key=lambda b: -b.value)
    column = {"reason": "lost_reason__name", "owner": "owner__username"}[by]
    rows = qs.values(column).annotate(n=Count("id"), total=Sum("value")).order_by("-total")
    return [
        Breakdown(str(r[column] or "—"), r["n"], round_money(Decimal(r["total"] or 0), home)) for r in rows
    ]
