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

from django.db.models import Count, Q, Sum

from friday.accounts.models import User
from friday.accounts.scoping import totals_q
from friday.billing.models import Invoice, InvoiceKind, InvoiceStatus
from friday.core import business, clock
from friday.core.money import round_money
from friday.deals.models import LostReason
from friday.deals.selectors import deals_visible
from friday.insights.models import CustomerMetrics
from friday.insights.selectors import scoped_totals
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


def lapsing(user: User) -> tuple[int, Decimal]:
    """The customers lapsing now that the user may see, and what they were worth a year (whatever the period)."""
    row = CustomerMetrics.objects.filter(totals_q(user), lapsing=True).aggregate(
        n=Count("party"), total=Sum("yearly_value")
    )
    return row["n"], round_money(Decimal(row["total"] or 0), business.currency())


def corners(
    *, user: User, start: dt.date, end: dt.date, lapsing_now: tuple[int, Decimal] | None = None
) -> Corners:
    """The four corners for [start, end), over the parties the user may see (`lapsing_now`: from `lapsing`, when
    the caller has it already)."""
    home = business.currency()
    since, until = _start_of(start), _start_of(end)
    revenue = (
        scoped_totals(Invoice.objects, user)
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
        scoped_totals(Cost.objects, user)
        .filter(currency=home, incurred_on__gte=start, incurred_on__lt=end)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    lost = _lost_deals(user, since, until).filter(currency=home).aggregate(n=Count("*"), total=Sum("value"))
    lapsing_count, lapsing_value = lapsing_now or lapsing(user)
    return Corners(
        start=start,
        end=end,
        currency=home,
        revenue=round_money(Decimal(revenue), home),
        costs=round_money(Decimal(costs), home),
        lost_deals=round_money(Decimal(lost["total"] or 0), home),
        lost_deals_count=lost["n"],
        lapsing_value=lapsing_value,
        lapsing_count=lapsing_count,
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


@dataclass
class Lost:
    """Deals lost over some months: by reason, by owner, by the stage they were lost from, and month by month."""

    by_reason: list[Breakdown]
    by_owner: list[Breakdown]
    by_stage: list[Breakdown]
    monthly: list[Decimal]


def lost(*, user: User, starts: list[dt.date]) -> Lost:
    """The lost deals of the months beginning at `starts` (consecutive), in one pass over the closed-deals index:
    grouped by (reason, owner, stage lost from) with a conditional sum per month; the breakdowns and the trend are
    added up from those groups (a few hundred rows at most)."""
    home = business.currency()
    bounds = [*starts, next_month(starts[-1])]
    sums = {
        f"m{i}": Sum("value", filter=Q(closed_at__gte=_start_of(lo), closed_at__lt=_start_of(hi)))
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    }
    rows = list(
        _lost_deals(user, _start_of(bounds[0]), _start_of(bounds[-1]))
        .filter(currency=home)
        .values("lost_reason_id", "owner_id", "closed_from_stage")
        .annotate(n=Count("*"), total=Sum("value"), **sums)
        .order_by()
    )
    reasons = dict(
        LostReason.objects.filter(pk__in={r["lost_reason_id"] for r in rows}).values_list("pk", "name")
    )
    owners = {
        u.pk: u.display
        for u in User.objects.filter(pk__in={r["owner_id"] for r in rows}).only(
            "username", "first_name", "last_name"
        )
    }
    stage_names: dict[str, str] = {}
    for process in Process.objects.filter(applies_to=RecordType.DEAL, current__isnull=False).select_related(
        "current"
    ):
        assert process.current is not None
        for stage in process.current.definition.stages:
            stage_names.setdefault(stage.key, stage.name)

    def breakdown(label_of: Any) -> list[Breakdown]:
        out: dict[str, Breakdown] = {}
        for r in rows:
            label = label_of(r)
            item = out.setdefault(label, Breakdown(label, 0, Decimal(0)))
            item.count += r["n"]
            item.value += Decimal(r["total"] or 0)
        for item in out.values():
            item.value = round_money(item.value, home)
        return sorted(out.values(), key=lambda b: (-b.value, -b.count, b.label))

    return Lost(
        by_reason=breakdown(lambda r: reasons.get(r["lost_reason_id"], "—")),
        by_owner=breakdown(lambda r: owners.get(r["owner_id"], "—")),
        by_stage=breakdown(lambda r: stage_names.get(r["closed_from_stage"], r["closed_from_stage"]) or "—"),
        monthly=[
            round_money(sum((Decimal(r[f"m{i}"] or 0) for r in rows), Decimal(0)), home)
            for i in range(len(starts))
        ],
    )


def month_starts(months: int, today: dt.date | None = None) -> list[dt.date]:
    """The first days of the last `months` months, oldest first, ending with this month."""
    first = month_start(today or clock.today())
    for _ in range(months - 1):
        first = month_start(first - dt.timedelta(days=1))
    starts = [first]
    while len(starts) < months:
        starts.append(next_month(starts[-1]))
    return starts


def trend(
    *, user: User, months: int = 12, today: dt.date | None = None, lost_deals: Lost | None = None
) -> list[Month]:
    """The corners month by month, oldest first, ending with this month: one query per corner, not per month
    (the lost deals' figures may be passed in when the caller has them already)."""
    home = business.currency()
    starts = month_starts(months, today)
    first, end = starts[0], next_month(starts[-1])
    since, until = _start_of(first), _start_of(end)
    revenue = _monthly(
        scoped_totals(Invoice.objects, user).filter(
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
        scoped_totals(Cost.objects, user).filter(currency=home, incurred_on__gte=first, incurred_on__lt=end),
        "incurred_on",
        "amount",
        starts,
        dates=True,
    )
    lost_monthly = (lost_deals or lost(user=user, starts=starts)).monthly
    return [
        Month(s, round_money(r, home), round_money(c, home), ld)
        for s, r, c, ld in zip(starts, revenue, costs, lost_monthly, strict=True)
    ]


def over(months: list[Month], *, user: User, lost_count: int) -> Corners:
    """The corners of the whole span of `months`, added up from them (and today's lapsing customers)."""
    home = business.currency()
    lapsing_count, lapsing_value = lapsing(user)
    return Corners(
        start=months[0].start,
        end=next_month(months[-1].start),
        currency=home,
        revenue=sum((m.revenue for m in months), Decimal(0)),
        costs=sum((m.costs for m in months), Decimal(0)),
        lost_deals=sum((m.lost_deals for m in months), Decimal(0)),
        lost_deals_count=lost_count,
        lapsing_value=lapsing_value,
        lapsing_count=lapsing_count,
    )


def _lost_deals(user: User, since: dt.datetime, until: dt.datetime) -> Any:
    """Deals lost in [since, until) that the user may see (the deals list's own scope: the deal's owner and team),
    by pipeline first, so the closed-deals index (process, closed_at, …) serves it alone."""
    processes = list(Process.objects.filter(applies_to=RecordType.DEAL).values_list("pk", flat=True))
    return deals_visible(user).filter(
        process__in=processes, closed_at__gte=since, closed_at__lt=until, stage__in=_lost_stages()
    )


def _lost_stages() -> set[str]:
    stages: set[str] = set()
    for process in Process.objects.filter(applies_to=RecordType.DEAL):
        for version in process.versions.all():
            stages |= {s.key for s in version.definition.stages if s.kind == "lost"}
    return stages


def lost_by(*, user: User, start: dt.date, end: dt.date, by: str) -> list[Breakdown]:
    """Deals lost in the whole months [start, end) by reason, by the stage they were lost from, or by owner,
    biggest value first."""
    starts = [month_start(start)]
    while next_month(starts[-1]) < end:
        starts.append(next_month(starts[-1]))
    found = lost(user=user, starts=starts)
    return {"reason": found.by_reason, "stage": found.by_stage, "owner": found.by_owner}[by]
