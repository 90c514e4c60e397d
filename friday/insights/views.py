"""Insight pages: the customers at risk, with their reasons; the four corners; the daily digest's unsubscribe page.
The party page's card of figures lives here too."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from friday.accounts.models import User
from friday.core.csvout import csv_response
from friday.core.http import AuthedRequest
from friday.insights import digest, selectors
from friday.insights.models import CustomerMetrics
from friday.insights.risk import threshold


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Figures card on a party page (the party page has already checked the user may see it)."""
    return {"metrics": CustomerMetrics.objects.filter(party=party).first(), "threshold": threshold()}


@login_required
def at_risk(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    raw = request.GET.get("min", "")
    minimum = int(raw) if raw.isdigit() and 1 <= int(raw) <= 100 else threshold()
    if request.GET.get("format") == "csv":
        return csv_response(
            f"customers-at-risk-{minimum}.csv",
            [
                "party id",
                "customer",
                "risk score",
                "reasons",
                "revenue",
                "currency",
                "last purchase",
                "owner",
                "as of",
            ],
            _at_risk_rows(request.user, minimum),
        )
    page = selectors.at_risk(user=request.user, min_score=minimum, cursor=request.GET.get("cursor"), limit=50)
    return render(
        request, "insights/at_risk.html", {"page": page, "minimum": minimum, "threshold": threshold()}
    )


def _at_risk_rows(user: User, minimum: int) -> Iterator[list[Any]]:
    """Every customer at risk the user may see, a keyset page of 1,000 at a time (the download streams)."""
    cursor = None
    while True:
        page = selectors.at_risk(user=user, min_score=minimum, cursor=cursor, limit=1000)
        for m in page.items:
            yield [
                m.party_id,
                m.party.display_name,
                m.risk_score,
                "; ".join(r["text"] for r in m.risk_reasons),
                m.revenue,
                m.currency,
                m.last_purchase_on,
                m.party.owner.display if m.party.owner else "",
                m.as_of.isoformat(timespec="seconds"),
            ]
        if not page.next_cursor:
            return
        cursor = page.next_cursor


@login_required
def four_corners(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    """Revenue, costs, profit and lost opportunity over the last 12 months, drawn and tabled; lost deals by
    reason, stage and owner; the yearly value of the customers now lapsing. `?format=csv`: the numbers."""
    from friday.core import clock
    from friday.insights import corners

    starts = corners.month_starts(12)
    lost = corners.lost(user=request.user, starts=starts)
    months = corners.trend(user=request.user, months=12, lost_deals=lost)
    whole = corners.over(months, user=request.user, lost_count=sum(b.count for b in lost.by_reason))
    if request.GET.get("format") == "csv":
        return _corners_csv(months, lost, whole)
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
    return render(
        request,
        "insights/corners.html",
        {
            "months": months,
            "last_month": months[-1].start,
            "chart": chart,
            "whole": whole,
            "by_reason": _with_bars(lost.by_reason),
            "by_stage": _with_bars(lost.by_stage),
            "by_owner": _with_bars(lost.by_owner),
            "today": clock.today(),
        },
    )


def _with_bars(rows: list[Any]) -> list[dict[str, Any]]:
    """Ranked rows with each one's bar as a share of the biggest value (the chart beside the numbers)."""
    biggest = max((r.value for r in rows), default=Decimal(0))
    return [{"row": r, "percent": round(100 * r.value / biggest) if biggest else 0} for r in rows]


def _corners_csv(months: list[Any], lost: Any, whole: Any) -> StreamingHttpResponse:
    rows: list[list[Any]] = [
        ["month", m.start.strftime("%Y-%m"), m.revenue, m.costs, m.profit, m.lost_deals, ""] for m in months
    ]
    for section, items in (
        ("lost by reason", lost.by_reason),
        ("lost by stage", lost.by_stage),
        ("lost by owner", lost.by_owner),
    ):
        rows += [[section, b.label, "", "", "", b.value, b.count] for b in items]
    rows.append(["lapsing customers' yearly value", "", "", "", "", whole.lapsing_value, whole.lapsing_count])
    return csv_response(
        f"four-corners-{months[0].start:%Y-%m}-to-{months[-1].start:%Y-%m}.csv",
        ["section", "label", f"revenue ({whole.currency})", "costs", "profit", "lost value", "count"],
        rows,
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
