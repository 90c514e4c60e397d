"""Insight pages: the customers at risk, with their reasons; the four corners; the daily digest's unsubscribe page.
The party page's card of figures lives here too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from friday.accounts.models import User
from friday.core.http import AuthedRequest
from friday.insights import digest, selectors
from friday.insights.models import CustomerMetrics
from friday.insights.risk import threshold


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Figures card on a party page (the party page has already checked the user may see it)."""
    return {"metrics": CustomerMetrics.objects.filter(party=party).first(), "threshold": threshold()}


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


@never_cache
@csrf_exempt  # RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click" with no session and no CSRF token
@require_http_methods(["GET", "POST"])
def digest_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The unsubscribe link of a digest: no sign-in, the signed token is the key. Opening it (GET) only asks — a
    link scanner must not unsubscribe anyone — and the button (or the mail client's one-click POST) turns the
    digest off. A token not made by Friday is refused with 404 and changes nothing."""
    from friday.accounts.services import user_digest_set

    target = digest.unsubscribe_user(token)
    if target is None:
        return render(request, "insights/digest_unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        user_digest_set(by=target, user=target, enabled=False)
        done = True
    return render(request, "insights/digest_unsubscribe.html", {"target": target, "done": done})
