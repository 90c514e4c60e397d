"""The Best page's figures, each within what the user may see: customers ranked by gross profit and by 12-month
lifetime value, RFM segments, and suppliers ranked by reliability (chases done on time) and by cost (their bills).

Every figure is one grouped query over an indexed table (the customer figures, reminders, costs); the rankings are
limited lists (top N), the members of a segment a keyset page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum

from friday.accounts.models import User
from friday.core import business, clock
from friday.core.money import round_money
from friday.core.pagination import Page, keyset_page
from friday.insights import rfm
from friday.insights.models import CustomerMetrics
from friday.insights.selectors import metrics_visible, scoped
from friday.jobs.models import Cost, CostKind
from friday.parties.models import Party
from friday.reminders.models import ACTIVE, Reminder, ReminderStatus

TOP = 25
TOPS = (10, 25, 50, 100)
SORTS = {"profit": ["-gross_profit", "party_id"], "clv": ["-clv_12m", "party_id"]}
# Light fills with the page's dark text on them: green is doing well, blue is young, orange and red need work.
COLOURS = {
    rfm.Segment.CHAMPIONS: "#c8e6cf",
    rfm.Segment.LOYAL: "#e1f1d3",
    rfm.Segment.POTENTIAL: "#dce9fb",
    rfm.Segment.NEW: "#eef4fd",
    rfm.Segment.AT_RISK: "#fde3c9",
    rfm.Segment.CANT_LOSE: "#f8cbc6",
    rfm.Segment.HIBERNATING: "#ececec",
    rfm.Segment.LOST: "#d6d6d6",
}


def _percent(value: Decimal | int, biggest: Decimal | int) -> int:
    """A whole percent of `biggest` (a bar's length, a share), rounded half up, at least 0."""
    if not biggest or biggest <= 0:
        return 0
    share = (Decimal(100) * Decimal(value) / Decimal(biggest)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(0, int(share))


# --- customers ----------------------------------------------------------------------------------------------


@dataclass
class RankedCustomer:
    metrics: CustomerMetrics
    value: Decimal
    percent: int

    @property
    def alive_percent(self) -> int | None:
        """P(alive) as a whole percent, rounded down (as the risk reason words it)."""
        p = self.metrics.p_alive
        return None if p is None else int(100 * p)


def top_customers(*, user: User, by: str, limit: int = TOP) -> list[RankedCustomer]:
    """The top `limit` customers by gross profit ("profit") or by 12-month CLV ("clv", only those that have one)."""
    qs = metrics_visible(user)
    if by == "clv":
        qs = qs.filter(clv_12m__isnull=False)
    # The ranking walks its index alone; the names follow in one query (a join here let SQLite's planner sort
    # every row when its statistics were stale).
    rows = list(qs.order_by(*SORTS[by])[:limit])
    names = Party.objects.in_bulk([m.party_id for m in rows])
    for m in rows:
        m.party = names[m.party_id]
    values = [(m.gross_profit if by == "profit" else m.clv_12m) or Decimal(0) for m in rows]
    biggest = max(values, default=Decimal(0))
    return [RankedCustomer(m, v, _percent(v, biggest)) for m, v in zip(rows, values, strict=True)]


# --- RFM ----------------------------------------------------------------------------------------------------


@dataclass
class SegmentRow:
    key: str
    label: str
    description: str
    colour: str
    customers: int = 0
    revenue: Decimal = Decimal(0)
    customers_percent: int = 0  # of the customers in a segment
    revenue_percent: int = 0  # of their revenue
    bar: int = 0  # customers, against the biggest segment
    revenue_bar: int = 0


@dataclass
class GridCell:
    segment: str
    label: str
    colour: str
    customers: int = 0
    revenue: Decimal = Decimal(0)


@dataclass
class Segments:
    rows: list[SegmentRow]
    grid: list[tuple[int, list[GridCell]]]  # R from 5 down to 1, cells FM 1 to 5
    customers: int
    revenue: Decimal
    currency: str


def _metrics_for_totals(user: User) -> Any:
    """The rows `user` may see, for a sum over all of them: by the owner and team copied onto each row, so a
    member's totals read the figures' own indexes (a join to parties looked up the party of every row: 270 ms
    against 90 ms at 100k customers)."""
    return metrics_visible(user)


def rfm_segments(*, user: User) -> Segments:
    """Customers and revenue per RFM segment, and per cell of the R × FM grid that names them (one query)."""
    home = business.currency()
    cells: dict[tuple[int, int], GridCell] = {}
    for r in range(1, 6):
        for fm in range(1, 6):
            name = rfm.segment(r, fm, fm)
            cells[(r, fm)] = GridCell(name.value, name.label, COLOURS[name])
    per: dict[str, SegmentRow] = {
        s.value: SegmentRow(s.value, s.label, rfm.DESCRIPTIONS[s], COLOURS[s]) for s in rfm.Segment
    }
    found = (
        _metrics_for_totals(user)
        .exclude(rfm_segment="")
        .values("rfm_segment", "rfm_recency", "rfm_frequency", "rfm_monetary")
        .annotate(n=Count("party"), revenue=Sum("revenue"))
        .order_by()
    )
    for row in found:
        r, f, m = (
            row["rfm_recency"] or 1,
            row["rfm_frequency"] or 1,
            row["rfm_monetary"] or 1,
        )  # set with a segment
        cell = cells[(r, (f + m) // 2)]
        revenue = Decimal(row["revenue"] or 0)
        cell.customers += row["n"]
        cell.revenue += revenue
        segment = per[row["rfm_segment"]]
        segment.customers += row["n"]
        segment.revenue += revenue
    rows = list(per.values())
    customers = sum(s.customers for s in rows)
    revenue = sum((s.revenue for s in rows), Decimal(0))
    most = max((s.customers for s in rows), default=0)
    richest = max((s.revenue for s in rows), default=Decimal(0))
    for s in rows:
        s.revenue = round_money(s.revenue, home)
        s.customers_percent = _percent(s.customers, customers)
        s.revenue_percent = _percent(s.revenue, revenue)
        s.bar = _percent(s.customers, most)
        s.revenue_bar = _percent(s.revenue, richest)
    grid = [(r, [cells[(r, fm)] for fm in range(1, 6)]) for r in range(5, 0, -1)]
    return Segments(rows, grid, customers, round_money(revenue, home), home)


def segment_members(*, user: User, segment: str, cursor: str | None = None, limit: int = 50) -> Page:
    """A segment's customers, most revenue first (keyset pages over the segment's index)."""
    qs = metrics_visible(user).filter(rfm_segment=segment).select_related("party__owner")
    return keyset_page(qs, order=["-revenue", "party_id"], cursor=cursor, limit=limit)


def segment_members_all(*, user: User, segment: str) -> Any:
    """Every customer of a segment, for a CSV (streamed by the caller)."""
    return (
        metrics_visible(user)
        .filter(rfm_segment=segment)
        .order_by("-revenue", "party_id")
        .values_list(
            "party_id",
            "party__display_name",
            "rfm_recency",
            "rfm_frequency",
            "rfm_monetary",
            "purchases",
            "last_purchase_on",
            "revenue",
            "gross_profit",
            "clv_12m",
        )
    )


# --- suppliers ----------------------------------------------------------------------------------------------


@dataclass
class Period:
    start: dt.date
    end: dt.date  # exclusive

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def moments(self) -> tuple[dt.datetime, dt.datetime]:
        tz = clock.business_tz()
        return (
            dt.datetime.combine(self.start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(self.end, dt.time.min, tzinfo=tz),
        )


def last_year(today: dt.date | None = None) -> Period:
    """The 365 days up to and including today."""
    today = today or clock.today()
    return Period(today - dt.timedelta(days=364), today + dt.timedelta(days=1))


@dataclass
class Reliability:
    """A supplier's chases due in the period (reminders with them as `chase`, cancelled ones left out): done on
    or before their due time, done after it, still open past it, and not yet due."""

    party: Party
    on_time: int
    late: int
    overdue: int
    pending: int
    percent: int = field(default=0)  # bar length: the on-time share

    @property
    def decided(self) -> int:
        return self.on_time + self.late + self.overdue

    @property
    def chases(self) -> int:
        return self.decided + self.pending

    @property
    def share(self) -> Decimal:
        return (Decimal(100) * self.on_time / self.decided).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def supplier_reliability(*, user: User, period: Period, limit: int = TOP) -> list[Reliability]:
    """Suppliers by the share of their chases done on time (then by how many were decided), within the
    suppliers the user may see. A chase is on time when it was done on or before its due time; late when done
    after it, or still open once it has passed; chases not yet due count for neither."""
    now = clock.now()
    since, until = period.moments()
    qs = scoped(
        Reminder.objects.filter(chase__isnull=False, due_at__gte=since, due_at__lt=until).exclude(
            status=ReminderStatus.CANCELLED
        ),
        user,
        party="chase",
    )
    done = Q(status=ReminderStatus.DONE)
    counts = (
        qs.values("chase_id")
        .annotate(
            on_time=Count("id", filter=done & Q(done_at__lte=F("due_at"))),
            late=Count("id", filter=done & Q(done_at__gt=F("due_at"))),
            overdue=Count("id", filter=Q(status__in=ACTIVE, due_at__lt=now)),
            pending=Count("id", filter=Q(status__in=ACTIVE, due_at__gte=now)),
        )
        .order_by()
    )
    ranked = sorted(
        (
            (row["on_time"] / decided, decided, row)
            for row in counts
            if (decided := row["on_time"] + row["late"] + row["overdue"]) > 0
        ),
        key=lambda item: (-item[0], -item[1], item[2]["chase_id"]),
    )[:limit]
    names = Party.objects.in_bulk([row["chase_id"] for _, _, row in ranked])
    out = []
    for _, _, row in ranked:
        item = Reliability(
            names[row["chase_id"]], row["on_time"], row["late"], row["overdue"], row["pending"]
        )
        item.percent = _percent(item.on_time, item.decided)
        out.append(item)
    return out


@dataclass
class SupplierCost:
    party: Party
    bills: int
    total: Decimal
    percent: int = 0  # bar length against the biggest
    share: Decimal = Decimal(0)  # of all supplier bills in the period


@dataclass
class SupplierCosts:
    rows: list[SupplierCost]
    total: Decimal
    bills: int
    suppliers: int
    other_currency: int  # bills in other currencies, left out
    currency: str


def supplier_costs(*, user: User, period: Period, limit: int = TOP) -> SupplierCosts:
    """Suppliers by what their bills (job costs of kind "supplier bill" naming them) came to in the period, in
    the business's currency, within the suppliers the user may see: one grouped query (per supplier: the
    total and count in the business's currency, and the bills in others), ranked here."""
    home = business.currency()
    bills = scoped(
        Cost.objects.filter(
            kind=CostKind.SUPPLIER_BILL,
            supplier__isnull=False,
            incurred_on__gte=period.start,
            incurred_on__lt=period.end,
        ),
        user,
        party="supplier",
    )
    mine = Q(currency=home)
    grouped = list(
        bills.values("supplier_id")
        .annotate(
            bills=Count("id", filter=mine), total=Sum("amount", filter=mine), other=Count("id", filter=~mine)
        )
        .order_by()
    )
    spent = [row for row in grouped if row["bills"]]
    total = round_money(sum((Decimal(row["total"] or 0) for row in spent), Decimal(0)), home)
    top = sorted(spent, key=lambda row: (-Decimal(row["total"] or 0), row["supplier_id"]))[:limit]
    names = Party.objects.in_bulk([row["supplier_id"] for row in top])
    biggest = Decimal(top[0]["total"] or 0) if top else Decimal(0)
    rows = []
    for row in top:
        amount = round_money(Decimal(row["total"] or 0), home)
        rows.append(
            SupplierCost(
                names[row["supplier_id"]],
                row["bills"],
                amount,
                _percent(amount, biggest),
                (100 * amount / total).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
                if total
                else Decimal(0),
            )
        )
    return SupplierCosts(
        rows=rows,
        total=total,
        bills=sum(row["bills"] for row in spent),
        suppliers=len(spent),
        other_currency=sum(row["other"] for row in grouped),
        currency=home,
    )
