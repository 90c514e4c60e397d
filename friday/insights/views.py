"""Insight pages: the customers at risk, with their reasons. The party page's card of figures lives here too."""

from __future__ import annotations

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
