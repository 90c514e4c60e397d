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
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Sum

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
