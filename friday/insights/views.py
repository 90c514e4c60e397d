"""Insight pages: the customers at risk, with their reasons. The party page's card of figures lives here too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from friday.accounts.models import User
from friday.core.http import AuthedRequest
from friday.insights import selectors
from friday.insights.models import CustomerMetrics
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
