"""The segment filter insights add: customers at risk (score at least N), so automation can act on them."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from friday.core.errors import Collector
from friday.processes.segments import ExtraFilter, register_filter


def _clean(value: Any, errors: Collector, path: str) -> dict[str, int]:
    if value is True:
        from friday.insights.risk import threshold

        return {"min_score": threshold()}
    if not isinstance(value, dict) or set(value) - {"min_score"}:
        errors.add(
            path,
            "Give min_score, e.g. {min_score: 30} (or true for the business's threshold).",
            code="invalid.filter",
        )
        return {}
    number = value.get("min_score", 30)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 100:
        errors.add(f"{path}.min_score", "Give a whole number from 1 to 100.", code="invalid.number")
        return {}
    return {"min_score": number}


def _q(value: dict[str, int]) -> Q:
    from friday.insights.models import CustomerMetrics

    return Q(pk__in=CustomerMetrics.objects.filter(risk_score__gte=value["min_score"]).values("party_id"))


register_filter(ExtraFilter(name="at_risk", clean=_clean, q=_q))
