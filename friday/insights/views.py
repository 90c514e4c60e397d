"""Insight pages: the customers at risk with their reasons, the four corners, and the best customers and suppliers.
The party page's card of figures lives here too."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from friday.accounts.models import User
from friday.core.errors import FridayError
from friday.core.http import AuthedRequest
from friday.insights import best as ranks
from friday.insights import selectors
from friday.insights import value as value_model
from friday.insights.forms import BestForm
from friday.insights.models import CustomerMetrics
from friday.insights.rfm import DESCRIPTIONS, Segment
from friday.insights.risk import threshold


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Figures card on a party page (the party page has already checked the user may see it), with the
    customer-value model's figures and the fit they came from — or why there are none."""
    metrics = CustomerMetrics.objects.filter(party=party).select_related("value_fit").first()
    alive = None
    if metrics is not None and metrics.p_alive is not None:
        alive = int(100 * metrics.p_alive)  # rounded down, as the risk reason words it
    return {"metrics": metrics, "threshold": threshold(), "alive_percent": alive}


@login_required
def at_risk(request: AuthedRequest) -> HttpResponse:
    raw = request.GET.get("min", "")
    minimum = int(raw) if raw.isdigit() and 1 <= int(raw) <= 100 else threshold()
    page = selectors.at_risk(user=request.user, min_score=minimum, cursor=request.GET.get("cursor"), limit=50)
    return render(
        request, "insights/at_risk.html", {"page": page, "minimum": minimum, "threshold": threshold()}
    )


@login_required
def four_corners(request: AuthedRequest) -> HttpResponse:
    """Revenue, costs, profit and lost opportunity over the last 12 months, drawn and tabled; lost deals by
    reason, stage and owner; the yearly value of the customers now lapsing."""
    from friday.core import clock
    from friday.insights import corners

    months = corners.trend(user=request.user, months=12)
    start, end = months[0].start, corners.next_month(months[-1].start)
    top = max([max(m.revenue, m.costs, m.lost_deals) for m in months] + [Decimal(1)])
    chart = []
    for i, m in enumerate(months):
        bars = []
        for offset, value, colour, label in (
            (8, m.revenue, "var(--accent)", "Revenue"),
            (24, m.costs, "var(--muted)", "Costs"),
            (40, m.lost_deals, "var(--bad)", "Lost deals"),
        ):
            height = round(float(140 * value / top), 1)
            bars.append(
                {
                    "x": offset,
                    "y": round(150 - height, 1),
                    "h": height,
                    "fill": colour,
                    "label": label,
                    "value": value,
                }
            )
        chart.append({"month": m, "x": i * 60, "bars": bars})
    whole = corners.corners(user=request.user, start=start, end=end)
    return render(
        request,
        "insights/corners.html",
        {
            "months": months,
            "last_month": months[-1].start,
            "chart": chart,
            "whole": whole,
            "by_reason": corners.lost_by(user=request.user, start=start, end=end, by="reason"),
            "by_stage": corners.lost_by(user=request.user, start=start, end=end, by="stage"),
            "by_owner": corners.lost_by(user=request.user, start=start, end=end, by="owner"),
            "today": clock.today(),
        },
    )


# --- Best: customers and suppliers --------------------------------------------------------------------------

CSV_PARTS = ("profit", "clv", "rfm", "reliability", "costs")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP: CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _csv(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _best_csv(part: str, user: User, form: BestForm) -> StreamingHttpResponse:
    top, period = form.top_n(), form.period()
    if part in ("profit", "clv"):
        ranked = ranks.top_customers(user=user, by=part, limit=top)
        return _csv(
            f"best-customers-by-{part}.csv",
            ["rank", "party_id", "customer", "gross_profit", "revenue", "clv_12m", "currency"],
            (
                [
                    i,
                    r.metrics.party_id,
                    r.metrics.party.display_name,
                    r.metrics.gross_profit,
                    r.metrics.revenue,
                    r.metrics.clv_12m,
                    r.metrics.currency,
                ]
                for i, r in enumerate(ranked, 1)
            ),
        )
    if part == "rfm":
        found = ranks.rfm_segments(user=user)
        return _csv(
            "rfm-segments.csv",
            ["segment", "label", "customers", "customers_percent", "revenue", "revenue_percent", "currency"],
            (
                [
                    s.key,
                    s.label,
                    s.customers,
                    s.customers_percent,
                    s.revenue,
                    s.revenue_percent,
                    found.currency,
                ]
                for s in found.rows
            ),
        )
    if part == "reliability":
        kept = ranks.supplier_reliability(user=user, period=period, limit=top)
        return _csv(
            f"suppliers-by-reliability-{period.start}-{period.last_day}.csv",
            [
                "rank",
                "party_id",
                "supplier",
                "on_time_percent",
                "on_time",
                "late",
                "open_past_due",
                "not_yet_due",
            ],
            (
                [i, r.party.pk, r.party.display_name, r.share, r.on_time, r.late, r.overdue, r.pending]
                for i, r in enumerate(kept, 1)
            ),
        )
    costs = ranks.supplier_costs(user=user, period=period, limit=top)
    return _csv(
        f"suppliers-by-cost-{period.start}-{period.last_day}.csv",
        ["rank", "party_id", "supplier", "bills", "total", "share_percent", "currency"],
        (
            [i, c.party.pk, c.party.display_name, c.bills, c.total, c.share, costs.currency]
            for i, c in enumerate(costs.rows, 1)
        ),
    )


@login_required
def best(request: AuthedRequest) -> HttpResponseBase:
    """Customers ranked by gross profit and by lifetime value, RFM segments, suppliers by reliability and by
    cost — each drawn, tabled, and downloadable (?format=csv&part=…), within what the user may see."""
    default = ranks.last_year()
    form = BestForm(
        request.GET or None, initial={"since": default.start, "until": default.last_day, "top": ranks.TOP}
    )
    if request.GET.get("format") == "csv":
        part = request.GET.get("part", "")
        if part not in CSV_PARTS:
            return HttpResponse(
                f"Unknown part {part!r}: use one of {', '.join(CSV_PARTS)}.",
                status=400,
                content_type="text/plain",
            )
        if not form.is_valid():
            problems = "; ".join(
                f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
            )
            return HttpResponse(problems, status=400, content_type="text/plain")
        return _best_csv(part, request.user, form)
    top, period = form.top_n(), form.period()
    context = {
        "form": form,
        "top": top,
        "period": period,
        "by_profit": ranks.top_customers(user=request.user, by="profit", limit=top),
        "by_clv": ranks.top_customers(user=request.user, by="clv", limit=top),
        "segments": ranks.rfm_segments(user=request.user),
        "reliability": ranks.supplier_reliability(user=request.user, period=period, limit=top),
        "costs": ranks.supplier_costs(user=request.user, period=period, limit=top),
        "fit": value_model.current_fit(),
        "query": f"since={period.start}&until={period.last_day}&top={top}",
        # Staff: the adoption ranking (insights/adoption.py, another slice) adds its context here as "staff".
    }
    return render(
        request, "insights/best.html", context, status=400 if form.is_bound and not form.is_valid() else 200
    )


@login_required
def best_segment(request: AuthedRequest, segment: str) -> HttpResponseBase:
    """The customers of one RFM segment, most revenue first; ?format=csv gives them all."""
    if segment not in Segment.values:
        raise Http404("No such RFM segment.")
    which = Segment(segment)
    if request.GET.get("format") == "csv":
        rows = ranks.segment_members_all(user=request.user, segment=segment)
        return _csv(
            f"rfm-{segment}.csv",
            [
                "party_id",
                "customer",
                "r",
                "f",
                "m",
                "purchases",
                "last_purchase_on",
                "revenue",
                "gross_profit",
                "clv_12m",
            ],
            rows.iterator(chunk_size=2000),
        )
    error, page = None, None
    try:
        page = ranks.segment_members(user=request.user, segment=segment, cursor=request.GET.get("cursor"))
    except FridayError as exc:
        error = exc
    return render(
        request,
        "insights/best_segment.html",
        {
            "segment": which,
            "description": DESCRIPTIONS[which],
            "page": page,
            "error": error,
            "fit": value_model.current_fit(),
        },
        status=400 if error else 200,
    )
