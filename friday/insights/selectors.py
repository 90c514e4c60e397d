"""Reads of the insights tables for the pages and the API, scoped to the parties the user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from friday.accounts.models import User
from friday.core.pagination import Page, keyset_page
from friday.insights.models import CustomerMetrics
from friday.insights.risk import threshold
from friday.parties.selectors import parties_visible


def metrics_visible(user: User) -> QuerySet[CustomerMetrics]:
    return CustomerMetrics.objects.filter(party__in=parties_visible(user))


def at_risk(*, user: User, min_score: int | None = None, cursor: str | None = None, limit: int = 50) -> Page:
    """Customers at risk, highest score first (then by party), with their reasons."""
    qs = metrics_visible(user).filter(risk_score__gte=min_score or threshold()).select_related("party__owner")
    return keyset_page(qs, order=["-risk_score", "party_id"], cursor=cursor, limit=limit)
