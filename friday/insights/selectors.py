"""Reads of the insights tables for the pages and the API, scoped to the parties the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from friday.accounts.models import User
from friday.accounts.scoping import totals_q, visible_q
from friday.core.pagination import Page, keyset_page
from friday.insights.models import CustomerMetrics
from friday.insights.risk import threshold


def scoped(qs: Any, user: User, party: str = "party") -> Any:
    """`qs` narrowed to the parties `user` may see, through the join (managers and admins: no filter at all —
    an IN over every party would cost more than the figures)."""
    if not user.is_active:
        return qs.none()
    if user.sees_all:
        return qs
    return qs.filter(visible_q(user, owner=f"{party}__owner", team=f"{party}__team"))


def scoped_totals(qs: Any, user: User, party: str = "party") -> Any:
    """`scoped` for sums and counts (`accounts.scoping.totals_q`)."""
    if not user.is_active:
        return qs.none()
    if user.sees_all:
        return qs
    return qs.filter(totals_q(user, owner=f"{party}__owner", team=f"{party}__team"))


def metrics_visible(user: User) -> QuerySet[CustomerMetrics]:
    """The figures of the customers `user` may see, by the owner and team copied onto them (their own indexes)."""
    return CustomerMetrics.objects.filter(visible_q(user))


def at_risk(*, user: User, min_score: int | None = None, cursor: str | None = None, limit: int = 50) -> Page:
    """Customers at risk, highest score first (then by party), with their reasons."""
    # The parties are fetched by key afterwards: joined in, SQLite would walk every party instead of the risk index.
    qs = (
        metrics_visible(user)
        .filter(risk_score__gte=min_score or threshold())
        # Only what the lists show: the rows are sorted before the page is cut, and narrow rows sort faster.
        .only("party_id", "risk_score", "risk_reasons", "revenue", "currency", "last_purchase_on", "as_of")
        .prefetch_related("party__owner")
    )
    return keyset_page(qs, order=["-risk_score", "party_id"], cursor=cursor, limit=limit)
